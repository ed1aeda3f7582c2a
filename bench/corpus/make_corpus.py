#!/usr/bin/python3
"""Make the seed-size corpus of issue 19 (item 4): real prose paragraphs from a
Debian package's HTML documentation, as JSONL {"id": "<page>#<n>", "text": ...}.

Run with Debian's /usr/bin/python3 (standard library only). The default source
is python3.11-doc's Sphinx HTML (`apt-get install python3.11-doc`; needed by the
benchmark only, not by the build or CI):

    /usr/bin/python3 bench/corpus/make_corpus.py [--html DIR] [--package NAME]
        [--out build/corpus/python3.11-doc.jsonl] [--min-chars 20] [--min-words 4]
        [--min-count 40000] [--limit N]

What is a paragraph: the text of each <p> element inside the page's main
content (Sphinx's <div ... role="main">; navigation, sidebars and footers are
outside it), with the "¶" permalinks (<a class="headerlink">) and the
admonition titles ("Note", "See also": <p class="admonition-title">) left out.
Each is whitespace-normalized (runs of whitespace, non-breaking spaces
included, become one space; ends stripped), kept only when it has at least
--min-chars characters and --min-words words (so bare identifiers and table
cells such as "PyObject_CallNoArgs()" are not paragraphs), and kept only the
first time its normalized text
occurs (exact duplicates such as "Availability: Unix." or repeated
version notes are dropped). The order is stable: pages sorted by their path
relative to the HTML folder (byte order), paragraphs in document order. The
id is the page's path without ".html" and the 1-based number of the kept
paragraph in that page, e.g. "library/json#3". The index pages (genindex*,
py-modindex, search) hold no prose and are skipped.

Prints the paragraph count, the package name and version the HTML came from
(dpkg-query) and the SHA-256 of the output file, so a run can be matched to
the corpus it measured; exits with status 1 when fewer than --min-count
paragraphs were found (issue 19 asks for at least 40 000; python3.11-doc
3.11.2-6+deb12u9 gives 40 089). The output is generated: never commit it (build/ is
not tracked).
"""
import argparse
import hashlib
import html.parser
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP_PAGES = ("genindex", "py-modindex", "search")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"}


class Paragraphs(html.parser.HTMLParser):
    """The <p> texts inside the element with role="main", in document order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []        # open elements: (tag, is_main, is_skipped)
        self.in_main = 0       # open elements at or below the main one
        self.skip = 0          # open elements whose text is left out
        self.para = None       # text pieces of the open <p>, or None
        self.out = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        main = a.get("role") == "main" or self.in_main > 0
        skipped = self.skip > 0 or (main and (
            "headerlink" in classes or (tag == "p" and "admonition-title" in classes)))
        # an unclosed <p> (HTML closes it implicitly at a block element) ends here
        if tag in ("p", "div", "ul", "ol", "dl", "table", "pre", "blockquote") and self.para is not None:
            self._end_para()
        self.stack.append((tag, main, skipped))
        self.in_main += main
        self.skip += skipped
        if tag == "p" and main and not skipped:
            self.para = []

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # pop to the matching open tag (tolerates unclosed inline elements)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                break
        else:
            return
        while len(self.stack) > i:
            t, main, skipped = self.stack.pop()
            self.in_main -= main
            self.skip -= skipped
            if t == "p" and self.para is not None:
                self._end_para()

    def handle_data(self, data):
        if self.para is not None and not self.skip:
            self.para.append(data)

    def _end_para(self):
        self.out.append("".join(self.para))
        self.para = None


def normalize(text):
    # str.split() with no argument splits on every Unicode whitespace, NBSP included
    return " ".join(text.split())


def pages(html_dir):
    found = []
    for dirpath, dirnames, filenames in os.walk(html_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith("_")]  # _static, _sources, ...
        for name in filenames:
            if name.endswith(".html"):
                rel = os.path.relpath(os.path.join(dirpath, name), html_dir).replace(os.sep, "/")
                if not rel.split("/")[-1].startswith(SKIP_PAGES):
                    found.append(rel)
    return sorted(found, key=lambda p: p.encode("utf-8"))


def package_version(package, html_dir):
    """'name version' of the Debian package, checked to own html_dir; or why not."""
    try:
        v = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}", package],
                           capture_output=True, text=True, check=True).stdout.strip()
        owner = subprocess.run(["dpkg-query", "-S", os.path.realpath(html_dir)],
                               capture_output=True, text=True)
        if owner.returncode == 0 and package not in owner.stdout.split(":")[0]:
            return "%s (but %s is owned by %s)" % (v, html_dir, owner.stdout.split(":")[0])
        return v
    except (OSError, subprocess.CalledProcessError) as e:
        return "unknown (%s: %s)" % (package, e)


def corpus(html_dir, min_chars, min_words, limit=None):
    """[(id, text)] in the stable order described in the module docstring."""
    seen = set()
    out = []
    for rel in pages(html_dir):
        with open(os.path.join(html_dir, rel), encoding="utf-8") as f:
            p = Paragraphs()
            p.feed(f.read())
            p.close()
        n = 0
        for raw in p.out:
            text = normalize(raw)
            if len(text) < min_chars or len(text.split()) < min_words or text in seen:
                continue
            seen.add(text)
            n += 1
            out.append(("%s#%d" % (rel[:-len(".html")], n), text))
            if limit is not None and len(out) >= limit:
                return out
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", default="/usr/share/doc/python3.11/html",
                    help="the package's HTML folder (default: python3.11-doc's)")
    ap.add_argument("--package", default="python3.11-doc", help="the Debian package it belongs to")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "corpus", "python3.11-doc.jsonl"))
    ap.add_argument("--min-chars", type=int, default=20,
                    help="shortest paragraph kept, in characters after normalization (default 20)")
    ap.add_argument("--min-words", type=int, default=4,
                    help="fewest whitespace-separated words in a paragraph kept (default 4)")
    ap.add_argument("--min-count", type=int, default=40000,
                    help="fail when fewer paragraphs are found (default 40000; not checked with --limit)")
    ap.add_argument("--limit", type=int, default=None, help="keep only the first N paragraphs")
    a = ap.parse_args()
    if not os.path.isdir(a.html):
        sys.exit("make_corpus: %s is not a folder; install the package: apt-get install %s"
                 % (a.html, a.package))
    rows = corpus(a.html, a.min_chars, a.min_words, a.limit)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for pid, text in rows:
            f.write(json.dumps({"id": pid, "text": text}, ensure_ascii=False) + "\n")
    os.replace(tmp, a.out)
    with open(a.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print("paragraphs %d" % len(rows))
    print("package    %s" % package_version(a.package, a.html))
    print("filter     >= %d chars, >= %d words, deduplicated" % (a.min_chars, a.min_words))
    print("out        %s" % a.out)
    print("sha256     %s" % digest)
    if len(rows) < a.min_count and a.limit is None:
        sys.exit("make_corpus: only %d paragraphs; at least %d wanted (--min-count)"
                 % (len(rows), a.min_count))


if __name__ == "__main__":
    main()
