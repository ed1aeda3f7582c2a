"""ctypes releases the GIL: threads encode concurrently on one model, with
the same bits as one thread."""

import threading

import numpy as np

import libemb

TEXTS = ["text number %d about plants, sunlight and water" % i for i in range(40)]


def test_two_threads_concurrently_give_the_same_vectors(bert_e5):
    with libemb.Model(bert_e5, threads=1) as m:
        want = m.encode(TEXTS, kind="passage").tobytes()
        results = [None, None]
        errors = []
        start = threading.Barrier(2)

        def work(slot):
            try:
                start.wait()
                out = [m.encode(TEXTS, kind="passage").tobytes() for _ in range(5)]
                results[slot] = out
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    for slot in range(2):
        for i, r in enumerate(results[slot]):
            assert r == want, "thread %d run %d differs from the single-thread result" % (slot, i)


def test_thread_count_does_not_change_bits(bert_e5):
    with libemb.Model(bert_e5, threads=1) as one, libemb.Model(bert_e5, threads=2) as two:
        a = one.encode(TEXTS, kind="query")
        b = two.encode(TEXTS, kind="query")
    assert a.tobytes() == b.tobytes()


def test_close_waits_for_calls_in_flight(bert_e5):
    m = libemb.Model(bert_e5)
    done = []
    started = threading.Event()

    def work():
        started.set()
        for _ in range(20):
            try:
                v = m.encode(TEXTS)
                done.append(np.isfinite(v).all())
            except libemb.EmbError as e:
                assert "closed" in e.message
                return

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    m.close()  # must not free the model under the running encode
    t.join()
    assert all(done)
    assert m.closed


def test_library_calls_release_the_gil():
    # a CDLL function (not PyDLL / PYFUNCTYPE) releases the GIL during the call
    import ctypes
    from libemb import _lib
    lib = _lib.load()
    assert type(lib.cdll) is ctypes.CDLL
    for name in ("emb_encode", "emb_tokenize", "emb_model_open", "emb_convert"):
        assert not getattr(lib, name)._flags_ & ctypes._FUNCFLAG_PYTHONAPI, name
