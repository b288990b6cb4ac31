"""The authoring loop: draft into sources, edits kept, regenerate, approve, status, safe writes.

The drafting model is a fake deterministic generator here (pure logic); test_ci_gate.py drives the
real tiny model and real MkDocs builds.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from fakes import FakeBackend

from mkdocs_aigen import cli
from mkdocs_aigen.authoring.loop import approve_page, draft_pages, load_pages, sync
from mkdocs_aigen.authoring.status import page_status
from mkdocs_aigen.authoring.store import (
    PageFile,
    ReviewStore,
    Source,
    SourceChangedError,
    iter_feedback,
)
from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.markers import BEGIN, END, digest_text, find_regions
from mkdocs_aigen.project import Project
from mkdocs_aigen.settings import Settings

OUTLINE = ["Overview", "Steps", "Example", "Limits", "Troubleshooting"]
STUB = """---
title: Caching
aigen:
  topic: "How the parse cache works"
  kind: how-to
  sections: [Overview, Steps, Example, Limits, Troubleshooting]
  code: python
---
# Caching

The author's introduction, kept as written.

## Troubleshooting

Written by hand: clear the cache with `clear_cache()`.
"""


def fake_model() -> FakeBackend:
    """Prose, and valid Python for code samples, that depend on the prompt, the seed and the weights."""
    model = FakeBackend(lambda request: _scripted(model, request), digest="sha256:fake-1")
    return model


def _scripted(model: FakeBackend, request) -> str:
    tag = hashlib.sha256(f"{model.digest}|{request.seed}|{request.prompt}".encode()).hexdigest()[:8]
    if request.stop_at_fence:
        return f"value_{tag} = 1\nprint(value_{tag})\n"
    return f"Drafted text {tag} from weights {model.digest}, explaining one part."


def retrain(model: FakeBackend) -> None:
    """New weights: a new digest, hence new cache keys and new drafts."""
    model.digest += "+"


def save_meanwhile(model: FakeBackend, path: Path, old: str, new: str) -> None:
    """The author saves ``path`` while the model is generating."""
    script = model.generator.script

    def once(request):
        if model.generator.script is once:
            model.generator.script = script
            edit(path, old, new)
        return script(request)

    model.generator.script = once


def make_site(root: Path, pages: dict[str, str | bytes], options: dict | None = None) -> Path:
    """A site at ``root``: mkdocs.yml with the aigen plugin and ``pages`` under docs/."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"site_name": "t", "theme": {"name": "mkdocs"}, "plugins": [{"aigen": options or {}}]}
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for name, content in pages.items():
        path = root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root / "mkdocs.yml"


def fake_project(root: Path, model: FakeBackend | None = None) -> Project:
    project = Project(Settings.load({}, root, root / "docs"))
    project.backend = model or fake_model()  # replaces the cached property: no model directory needed
    return project


def draft(project: Project, **flags):
    files, errors = load_pages(project)
    assert not errors
    return list(draft_pages(project, ReviewStore(project.settings.work_dir), files, **flags))


def page_file(project: Project, name: str = "guide.md") -> PageFile:
    files, _ = load_pages(project, [name])
    return files[0]


def states(project: Project, name: str = "guide.md") -> dict[str, str]:
    store = ReviewStore(project.settings.work_dir)
    page = page_file(project, name).page
    sync(store, page)
    store.save()
    return {row.heading: row.state for row in page_status(project, store, page)}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_bytes().decode("utf-8")
    assert old in text
    path.write_bytes(text.replace(old, new, 1).encode("utf-8"))


def region_text(path: Path, section: str) -> str:
    text = path.read_bytes().decode("utf-8-sig")
    region = next(r for r in find_regions(text) if r.section == section)
    return text[region.start:region.end]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    make_site(tmp_path, {"guide.md": STUB, "plain.md": "# Not a stub\n"})
    return tmp_path


def test_draft_writes_marked_sections_in_outline_order_around_authored_text(site: Path):
    project = fake_project(site)
    results = draft(project)
    assert [(r.page, [h for h, _ in r.drafted]) for r in results] == [("guide.md", OUTLINE[:4])]
    text = (site / "docs/guide.md").read_text(encoding="utf-8")
    regions = find_regions(text)
    assert [r.section for r in regions] == ["overview", "steps", "example", "limits"]
    assert all(not r.edited and r.attrs["digest"] == digest_text(r.inner) for r in regions)
    # the author's bytes are untouched: the head before the drafts and the hand-written section after them
    assert text.startswith(STUB[:STUB.index("## Troubleshooting")])
    assert text.endswith(STUB[STUB.index("## Troubleshooting"):])
    assert text.index("## Limits") < text.index("## Troubleshooting")
    # each draft is kept as generated, by digest, with its recorded code checks
    store = ReviewStore(site / ".aigen")
    example = next(r for r in regions if r.section == "example")
    original = store.original(example.attrs["digest"])
    assert original["text"] == example.inner and original["code"][0]["status"] == "ok"
    assert (site / "docs/plain.md").read_text() == "# Not a stub\n"


def test_second_draft_is_a_no_op_and_uses_the_cache(site: Path):
    model = fake_model()
    draft(fake_project(site, model))
    before, mtime = (site / "docs/guide.md").read_bytes(), (site / "docs/guide.md").stat().st_mtime_ns
    calls = len(model.generator.requests)
    results = draft(fake_project(site, model))
    assert results[0].drafted == [] and results[0].redrafted == []
    assert (site / "docs/guide.md").read_bytes() == before
    assert (site / "docs/guide.md").stat().st_mtime_ns == mtime
    # regenerate with unchanged weights: every draft comes back from the cache, identical
    results = draft(fake_project(site, model), regenerate=True)
    assert results[0].unchanged == OUTLINE[:4] and len(model.generator.requests) == calls
    assert (site / "docs/guide.md").read_bytes() == before


def test_every_state_and_its_transitions(site: Path):
    project = fake_project(site)
    path = site / "docs/guide.md"
    assert states(project) == dict.fromkeys(OUTLINE[:4], "stub") | {"Troubleshooting": "authored"}
    draft(project)
    assert states(project) == dict.fromkeys(OUTLINE[:4], "drafted") | {"Troubleshooting": "authored"}
    # edit a draft → edited; undo the edit → drafted again
    inner = find_regions(path.read_text())[1].inner
    edit(path, inner, inner + "\n\nThe author adds a caveat.")
    assert states(project)["Steps"] == "edited"
    edit(path, inner + "\n\nThe author adds a caveat.", inner)
    assert states(project)["Steps"] == "drafted"
    # approve → approved; delete the whole approved section → stub; draft again → drafted
    approve_page(project, ReviewStore(site / ".aigen"), page_file(project), ["Overview"])
    assert states(project)["Overview"] == "approved"
    text = path.read_text()
    edit(path, text[text.index("## Overview"):text.index("[//]: # (aigen:draft")], "")
    assert states(project)["Overview"] == "stub"
    draft(project)
    assert states(project)["Overview"] == "drafted"
    # delete a draft region (the author rejects it) → stub, and its record goes
    edit(path, region_text(path, "limits"), "")
    assert states(project)["Limits"] == "stub"
    assert "limits" not in ReviewStore(site / ".aigen").entries("guide.md")


def test_regenerate_replaces_unedited_drafts_in_place_and_never_edited_ones(site: Path):
    model = fake_model()
    draft(fake_project(site, model))
    path = site / "docs/guide.md"
    steps = region_text(path, "steps")
    edited_steps = steps.replace("Drafted text", "Reviewed and corrected text", 1)
    edit(path, steps, edited_steps)
    old = path.read_text()
    retrain(model)
    result = draft(fake_project(site, model), regenerate=True)[0]
    assert [h for h, _ in result.redrafted] == ["Overview", "Example", "Limits"] and result.kept == ["Steps"]
    new = path.read_text()
    assert region_text(path, "steps") == edited_steps
    # each unedited region was replaced where it stood; everything between regions is byte-identical
    old_regions, new_regions = find_regions(old), find_regions(new)
    assert [r.section for r in new_regions] == [r.section for r in old_regions]
    gaps = lambda text, regs: [text[a.end:b.start] for a, b in zip([None, *regs], [*regs, None])
                               if a is not None and b is not None] + [text[:regs[0].start], text[regs[-1].end:]]
    assert gaps(new, new_regions) == gaps(old, old_regions)
    assert f"from weights {model.digest}," in region_text(path, "overview")
    # --discard-edits is the only way the edited draft is replaced
    result = draft(fake_project(site, model), regenerate=True, discard_edits=True)[0]
    assert [h for h, _ in result.redrafted] == ["Steps"]
    assert "Reviewed and corrected" not in path.read_text()


def test_approve_removes_markers_keeps_text_and_records_feedback(site: Path):
    project = fake_project(site)
    draft(project)
    path = site / "docs/guide.md"
    steps = find_regions(path.read_text())[1]
    edit(path, steps.inner, steps.inner.replace("Drafted text", "Checked text", 1))
    old = path.read_text()
    store = ReviewStore(site / ".aigen")
    result = approve_page(project, store, page_file(project), ["steps", "Example"])
    assert result.approved == [("Steps", True), ("Example", False)]
    chosen = [r for r in find_regions(old) if r.section in ("steps", "example")]
    expected = old
    for region in reversed(chosen):
        expected = expected[:region.start] + region.inner + expected[region.end:]
    assert path.read_text() == expected
    records = {r["section"]: r for r in iter_feedback(site / ".aigen")}
    assert set(records) == {"steps", "example"}
    steps_record = records["steps"]
    assert steps_record["draft"] == steps.inner and "Checked text" in steps_record["approved"]
    assert steps_record["edited"] is True and steps_record["how"] == "approve"
    assert steps_record["topic"] == "How the parse cache works" and steps_record["kind"] == "how-to"
    assert steps_record["draft_digest"] == steps.attrs["digest"] != steps_record["approved_digest"]
    assert records["example"]["draft"] == records["example"]["approved"] and not records["example"]["edited"]
    state = json.loads((site / ".aigen/review-state.json").read_text())["pages"]["guide.md"]
    assert state["steps"]["state"] == "approved" and state["overview"]["state"] == "drafted"
    # nothing else to approve under those names; the rest still await review
    with pytest.raises(AigenError, match=r"guide.md: --section 'Steps': no draft .*Overview, Limits"):
        approve_page(project, ReviewStore(site / ".aigen"), page_file(project), ["Steps"])


def test_deleting_markers_by_hand_is_approval_recorded_once(site: Path):
    project = fake_project(site)
    draft(project)
    path = site / "docs/guide.md"
    region = region_text(path, "limits")
    inner = find_regions(region)[0].inner
    edit(path, region, inner + " The author's last word.")
    assert states(project)["Limits"] == "approved"
    for _ in range(2):  # any later command: no second record
        states(project)
        draft(project)
    records = list(iter_feedback(site / ".aigen"))
    assert len(records) == 1 and records[0]["how"] == "markers-removed"
    assert records[0]["draft"] == inner and records[0]["approved"].endswith("The author's last word.")


def test_crlf_and_bom_round_trip_byte_for_byte(tmp_path: Path):
    original = codecs.BOM_UTF8 + STUB.replace("\n", "\r\n").encode("utf-8")
    make_site(tmp_path, {"guide.md": original})
    project = fake_project(tmp_path)
    path = tmp_path / "docs/guide.md"
    draft(project)
    drafted = path.read_bytes()
    assert drafted.startswith(codecs.BOM_UTF8) and drafted.count(b"\n") == drafted.count(b"\r\n")
    assert drafted.count(b"[//]: # (aigen:draft") == 4
    draft(project, regenerate=True)
    assert path.read_bytes() == drafted
    # approving every draft removes exactly the marker lines, the note and the blank lines they add (CRLF)
    approve_page(project, ReviewStore(tmp_path / ".aigen"), page_file(project))
    approved = path.read_bytes()
    expected = re.sub(rb"\[//\]: # \(aigen:draft[^\r\n]*\r\n> [^\r\n]*\r\n\r\n", b"", drafted)
    expected = expected.replace(b"\r\n\r\n[//]: # (/aigen:draft)", b"")
    assert approved == expected
    assert approved.startswith(original[:original.index(b"## Troubleshooting")])
    assert approved.endswith(original[original.index(b"## Troubleshooting"):])


def test_page_changed_on_disk_while_drafting_is_not_written(site: Path):
    model = fake_model()
    path = site / "docs/guide.md"
    save_meanwhile(model, path, "kept as written.", "kept as written, and saved mid-draft.")
    project = fake_project(site, model)
    files, _ = load_pages(project)
    with pytest.raises(SourceChangedError, match=r"guide.md: changed on disk .* not written"):
        list(draft_pages(project, ReviewStore(site / ".aigen"), files))
    assert path.read_text() == STUB.replace("kept as written.", "kept as written, and saved mid-draft.")


def test_source_write_refuses_a_file_changed_since_read(tmp_path: Path):
    path = tmp_path / "page.md"
    path.write_bytes(b"one\r\n")
    source = Source.read(path)
    path.write_bytes(b"one\r\ntwo\r\n")
    with pytest.raises(SourceChangedError):
        source.write("three\r\n")
    assert path.read_bytes() == b"one\r\ntwo\r\n"
    assert Source.read(path).write("four\r\n").raw == b"four\r\n" == path.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name != "page.md"]  # no temp file left behind
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(AigenError, match=r"page.md: not UTF-8"):
        Source.read(path)


def test_a_draft_missing_between_existing_ones_is_inserted_between_them(site: Path):
    project = fake_project(site)
    draft(project)
    path = site / "docs/guide.md"
    edit(path, region_text(path, "steps"), "")  # rejected; the next draft fills the gap again
    draft(project)
    text = path.read_text()
    assert len(BEGIN.findall(text)) == len(find_regions(text)) == len(END.findall(text)) == 4
    assert [r.section for r in find_regions(text)] == ["overview", "steps", "example", "limits"]


def test_a_draft_whose_heading_was_removed_is_not_drafted_twice(site: Path):
    project = fake_project(site)
    draft(project)
    path = site / "docs/guide.md"
    edit(path, "## Steps\n", "")
    before = path.read_text()
    assert draft(project)[0].drafted == []
    assert path.read_text() == before


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fake_cli_model(monkeypatch) -> FakeBackend:
    """The CLI's Project drafts with the fake model (CLI logic only; see test_ci_gate for the real one)."""
    model = fake_model()
    monkeypatch.setattr(Project, "backend", property(lambda self: model))
    return model


def test_cli_draft_status_approve(site: Path, monkeypatch, capsys, fake_cli_model):
    config = str(site / "mkdocs.yml")
    code, out, _ = run_cli(capsys, "draft", "-f", config)
    assert code == 0
    assert out.splitlines()[0] == ("guide.md: drafted Overview (generated), Steps (generated), "
                                   "Example (generated), Limits (generated)")
    code, out, _ = run_cli(capsys, "status", "-f", config, "--fail-on-unreviewed")
    assert code == 1
    assert "  Example          drafted   python ok" in out
    assert "  Troubleshooting  authored" in out
    assert out.splitlines()[-1].startswith("4 section(s) await review on 1 page(s)")
    monkeypatch.chdir(site)
    code, out, _ = run_cli(capsys, "approve", "-f", config, "docs/guide.md")
    assert (code, out) == (0, "guide.md: approved Overview, Steps, Example, Limits; feedback in .aigen/feedback/\n")
    code, out, _ = run_cli(capsys, "status", "-f", config, "--json", "--fail-on-unreviewed")
    report = json.loads(out)
    assert code == 0 and report["awaiting_review"] == 0
    assert report["totals"] == {"approved": 4, "authored": 1}
    assert report["pages"][0]["sections"][2] == {
        "heading": "Example", "section": "example", "state": "approved", "code": [], "sources": [],
        "facts": {"references": 0, "resolved": 0, "unresolved": 0, "links_dropped": 0}}
    code, out, _ = run_cli(capsys, "approve", "-f", config, "guide.md")
    assert (code, out) == (0, "guide.md: no drafts awaiting review\n")


def test_cli_draft_conflict_exits_1_with_one_line(site: Path, capsys, fake_cli_model):
    path = site / "docs/guide.md"
    save_meanwhile(fake_cli_model, path, "# Caching", "# Caching (saved meanwhile)")
    code, out, err = run_cli(capsys, "draft", "-f", str(site / "mkdocs.yml"), "guide.md")
    assert code == 1 and out == ""
    errors = [line for line in err.splitlines() if not line.startswith("INFO")]  # "loading model" is news
    assert len(errors) == 1 and str(path) in errors[0] and "changed on disk" in errors[0]
    assert "aigen:draft" not in path.read_text()


@pytest.mark.parametrize("argv, message", [
    (["approve", "missing.md"], "missing.md: no such page under"),
    (["approve", "plain.md"], "plain.md: not a stub page"),
    (["draft", "guide.md", "plain.md"], "plain.md: not a stub page"),
    (["approve", "guide.md", "--section", "Nope"], "guide.md: --section 'Nope': no draft"),
])
def test_cli_bad_input_is_one_line_exit_2(site: Path, capsys, argv, message):
    code, out, err = run_cli(capsys, argv[0], "-f", str(site / "mkdocs.yml"), *argv[1:])
    assert code == 2 and out == ""
    assert err.startswith(f"mkdocs-aigen {argv[0]}: error: {message}") and err.count("\n") == 1


def test_cli_reports_bad_front_matter_and_goes_on(site: Path, capsys):
    (site / "docs/bad.md").write_text("---\naigen: {kind: how-to}\n---\n")
    (site / "docs/latin1.md").write_bytes("---\naigen: {topic: Café}\n---\n".encode("latin-1"))
    code, out, err = run_cli(capsys, "status", "-f", str(site / "mkdocs.yml"))
    assert code == 2 and "guide.md (Caching)" in out
    assert err.splitlines() == [
        "mkdocs-aigen status: error: bad.md: aigen.topic: is required; add 'topic: \"...\"' under 'aigen:'",
        "mkdocs-aigen status: error: latin1.md: not UTF-8 (byte 22); save it as UTF-8"]


def test_corrupt_review_state_is_set_aside_with_one_warning(site: Path, caplog):
    (site / ".aigen").mkdir()
    (site / ".aigen/review-state.json").write_text("{not json")
    assert ReviewStore(site / ".aigen").pages == {}
    assert [r.getMessage() for r in caplog.records if "malformed review state" in r.getMessage()]
    assert [p.read_text() for p in (site / ".aigen").glob("review-state.json.bad-*")] == ["{not json"]


def test_writes_are_atomic_and_keep_permissions(site: Path):
    path = site / "docs/guide.md"
    os.chmod(path, 0o640)
    draft(fake_project(site))
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["guide.md", "plain.md"]
