"""Status codes of include/emb.h, the exception that carries them, and the
warning of a fallback to the demo model."""

import enum


class Status(enum.IntEnum):
    """emb_status: the values are fixed forever (new codes are only appended)."""
    EMB_OK = 0
    EMB_ERR_INVALID_ARGUMENT = 1
    EMB_ERR_NO_MEMORY = 2
    EMB_ERR_IO = 3
    EMB_ERR_FORMAT = 4
    EMB_ERR_VERSION = 5
    EMB_ERR_UNSUPPORTED = 6
    EMB_ERR_INVALID_UTF8 = 7
    EMB_ERR_TOO_LONG = 8
    EMB_ERR_BUFFER_TOO_SMALL = 9
    EMB_ERR_NO_WEIGHTS = 10
    EMB_ERR_INTERNAL = 11


def to_status(code):
    """A Status for a known code, the plain int for a code newer than this binding."""
    try:
        return Status(code)
    except ValueError:
        return int(code)


class EmbError(Exception):
    """A libemb call failed.

    .status   the emb_status: a Status (an int enum: `err.status == 3`,
              `err.status.name == "EMB_ERR_IO"`), or a plain int for a code
              newer than this binding
    .message  the library's detail message (emb_last_error()) for the call
    """

    def __init__(self, status, message, status_string=None):
        self.status = to_status(status)
        self.message = message
        self.status_string = status_string or (
            self.status.name if isinstance(self.status, Status) else "status %d" % self.status)
        super().__init__("%s: %s" % (self.status_string, message) if message else self.status_string)

    @property
    def status_name(self):
        """"EMB_ERR_IO" etc. (also for a plain-int status: "EMB_STATUS_<n>")."""
        if isinstance(self.status, Status):
            return self.status.name
        return "EMB_STATUS_%d" % self.status


class DemoModelWarning(UserWarning):
    """Model(path=None) fell back to the demo model wordnet-mini because no
    real model (all-MiniLM-L6-v2.h5) was found; the message says where it
    looked. Silence it with warnings.filterwarnings("ignore",
    category=libemb.DemoModelWarning), or pass a path / set $EMB_MODEL."""
