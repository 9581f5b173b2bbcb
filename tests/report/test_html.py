"""The page: every section and figure there, the nav built from the sections, no self-parsing."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

from facelab.report import html as H
from facelab.report.figures import report_figures


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.nav, self.sections, self.imgs, self.h2 = [], [], [], []
        self._in = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in.append(tag)
        if tag == "a" and "nav" in self._in:
            self.nav.append([a["href"], ""])
        if tag == "section":
            self.sections.append(a["id"])
        if tag == "img":
            self.imgs.append((self.sections[-1] if self.sections else None, a))

    def handle_endtag(self, tag):
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data):
        if self._in and self._in[-1] == "a" and "nav" in self._in:
            self.nav[-1][1] += data
        if self._in and self._in[-1] == "h2":
            self.h2.append(data)


def _parse(text):
    p = _Page()
    p.feed(text)
    return p


def test_every_section_and_figure_and_nav(two_id_report, two_id_data):
    page = _parse((two_id_report / "index.html").read_text())
    expected = ["summary", "faces", "dataset-health", "verification", "identification", "embedding-space", "failures",
                "skipped", "provenance"]
    assert page.sections == expected
    assert [href for href, _ in page.nav] == [f"#{s}" for s in expected]  # nav links land on the sections
    assert [title for _, title in page.nav] == page.h2  # ... with their titles
    figs = {f.name: f for f in report_figures(two_id_data)}
    by_file = {a["data-file"]: (section, a) for section, a in page.imgs}
    assert set(by_file) == {f"figures/{n}.png" for n in figs}
    for name, spec in figs.items():
        section, a = by_file[f"figures/{name}.png"]
        assert section == spec.section
        data = base64.b64decode(a["src"].split(",", 1)[1])
        assert data == (two_id_report / "figures" / f"{name}.png").read_bytes()


def test_sections_are_id_title_html_tuples(two_id_data):
    for fn in H.SECTIONS:
        s = fn(two_id_data, {})
        assert isinstance(s, H.Section) and s.id and s.title and "<section" not in s.body
    nav_titles = [fn(two_id_data, {}).title for fn in H.SECTIONS]
    assert nav_titles[0] == "Summary" and nav_titles[-1] == "Provenance"


def test_render_page_takes_any_sections(two_id_data):
    def extra(data, figures):
        return H.Section("extra-one", "Extra <one>", "<p>x</p>")

    page = _parse(H.render_page(two_id_data, {}, sections=(H.summary, extra)))
    assert page.sections == ["summary", "extra-one"]
    assert page.nav == [["#summary", "Summary"], ["#extra-one", "Extra <one>"]]


def test_failures_section_without_mistakes(two_id_data):
    import dataclasses

    m = dataclasses.replace(two_id_data.model, misjudged=two_id_data.model.misjudged.head(0))
    data = dataclasses.replace(two_id_data, models=[m])
    assert "failures" not in [f.name for f in report_figures(data)]
    assert "No pair is misjudged" in H.failures(data, {}).body
