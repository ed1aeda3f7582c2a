"""bench/corpus/make_corpus.py on a small Sphinx-like HTML tree: only <p> in
the role="main" element, permalinks and admonition titles left out,
whitespace normalized, short and repeated paragraphs dropped, ids
"<page>#<n>" in a stable order, index pages skipped, the --min-count
refusal, and the printed count and SHA-256 of the output."""

import hashlib
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCRIPT = os.path.join(ROOT, "bench", "corpus", "make_corpus.py")

PAGE = """<!DOCTYPE html><html><head><title>t</title></head><body>
<div class="related" role="navigation"><p>Navigation text that is long enough to keep.</p></div>
<div class="body" role="main">
<h1>Title<a class="headerlink" href="#t">¶</a></h1>
<p>The first   paragraph,\twith  <code><span class="pre">code</span></code> and&nbsp;an entity &amp; more.</p>
<div class="admonition note"><p class="admonition-title">Note worth a title line</p>
<p>A note's body is a paragraph like any other one.</p></div>
<ul><li><p>A list item that is a real paragraph too.</p></li></ul>
<p>Too short.</p>
<p>Four words here yes</p>
<p>Return the value of attribute name.</p>
<p>Unclosed paragraph that ends at a block element
<div><p>Inside a div: still the main content here.</p></div>
</div>
<div class="sphinxsidebar" role="navigation"><p>Sidebar paragraph that is long enough too.</p></div>
<div class="footer"><p>Footer paragraph, long enough to pass every filter.</p></div>
</body></html>
"""

OTHER = """<html><body><div role="main">
<p>Return the value of attribute name.</p>
<p>A paragraph only this second page has, long enough.</p>
</div></body></html>
"""


def make_tree(tmp_path):
    html = tmp_path / "html"
    (html / "library").mkdir(parents=True)
    (html / "_static").mkdir()
    (html / "library" / "b.html").write_text(PAGE, encoding="utf-8")
    (html / "a.html").write_text(OTHER, encoding="utf-8")
    (html / "genindex-A.html").write_text(OTHER.replace("second page", "index page"),
                                          encoding="utf-8")
    (html / "_static" / "x.html").write_text(OTHER.replace("second", "static"), encoding="utf-8")
    return html


def run(html, out, *extra):
    return subprocess.run([sys.executable, SCRIPT, "--html", str(html), "--out", str(out),
                           "--package", "no-such-package-libemb-test"] + list(extra),
                          capture_output=True, text=True)


def test_paragraphs(tmp_path):
    html = make_tree(tmp_path)
    out = tmp_path / "c.jsonl"
    r = run(html, out, "--min-count", "0")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"id": "a#1", "text": "Return the value of attribute name."},
        {"id": "a#2", "text": "A paragraph only this second page has, long enough."},
        {"id": "library/b#1",
         "text": "The first paragraph, with code and an entity & more."},
        {"id": "library/b#2", "text": "A note's body is a paragraph like any other one."},
        {"id": "library/b#3", "text": "A list item that is a real paragraph too."},
        {"id": "library/b#4", "text": "Unclosed paragraph that ends at a block element"},
        {"id": "library/b#5", "text": "Inside a div: still the main content here."},
    ]
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert "paragraphs 7" in r.stdout
    assert "sha256     " + digest in r.stdout
    assert "unknown" in r.stdout  # the package is not installed: said, not fatal
    # the same input gives the same bytes
    out2 = tmp_path / "c2.jsonl"
    assert run(html, out2, "--min-count", "0").returncode == 0
    assert out2.read_bytes() == out.read_bytes()


def test_filters_and_limit(tmp_path):
    html = make_tree(tmp_path)
    out = tmp_path / "c.jsonl"
    # "Four words here yes" (19 characters) passes once 19 characters are enough
    r = run(html, out, "--min-count", "0", "--min-chars", "19")
    assert r.returncode == 0, r.stderr
    texts = [json.loads(line)["text"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert "Four words here yes" in texts and "Too short." not in texts
    # five words wanted: "Four words here yes" is out again
    r = run(html, out, "--min-count", "0", "--min-chars", "1", "--min-words", "5")
    texts = [json.loads(line)["text"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert "Four words here yes" not in texts
    r = run(html, out, "--limit", "2")
    assert r.returncode == 0, r.stderr  # --min-count is not checked with --limit
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_refusals(tmp_path):
    html = make_tree(tmp_path)
    out = tmp_path / "c.jsonl"
    r = run(html, out)  # 7 paragraphs, 40 000 wanted by default
    assert r.returncode == 1
    assert "only 7 paragraphs; at least 40000 wanted" in r.stderr
    r = run(tmp_path / "missing", out)
    assert r.returncode == 1
    assert "is not a folder" in r.stderr and "apt-get install" in r.stderr
