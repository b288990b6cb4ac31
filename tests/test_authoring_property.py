"""Property: whatever the sequence of draft / edit / regenerate / approve / retrain / build / status,
no byte the author wrote or edited is ever lost, changed or moved, and markers stay well-formed."""

from __future__ import annotations

import codecs
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_authoring import fake_model, fake_project, make_site, retrain

from mkdocs_aigen.authoring.loop import approve_page, draft_pages, load_pages, sync
from mkdocs_aigen.authoring.status import page_status
from mkdocs_aigen.authoring.store import ReviewStore, iter_feedback
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import discover
from mkdocs_aigen.markers import BEGIN, END, DraftRegion, find_regions

PAGES = {
    "guide.md": """---
aigen:
  topic: "Parse cache"
  sections: [Overview, Steps, Example, Limits]
  code: python
---
# Parse cache

Intro by the author.

## Limits

Hand-written limits.
""",
    "concepts/layers.md": """---
aigen: {topic: "Layers", kind: explanation, code: none}
---
# Layers
""",
}
AUTHOR_OPS = ("edit", "write", "reject", "unmark")
TOOL_OPS = ("draft", "regenerate", "approve", "approve_section", "retrain", "build", "status")
_LINE_START = re.compile(r"(?m)^(?=#)")
KINDS = KindLibrary()  # templates compile once for all examples
RAM_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # fsync-heavy writes, 200 sites


def author_atoms(text: str) -> list[str]:
    """The author's bytes in order: everything outside unedited drafts, cut where drafts may be
    inserted (before headings, at draft boundaries), plus the text of edited drafts."""
    regions = find_regions(text)
    atoms, position = [], 0
    for region in [*regions, None]:
        gap = text[position: region.start if region else len(text)]
        atoms += [piece for piece in _LINE_START.split(gap) if piece]
        if region is not None:
            if region.edited:
                atoms.append(region.inner)
            position = region.end
    return atoms


def assert_kept(atoms: list[str], text: str) -> None:
    """Each atom is still there, in the same order, none overlapping."""
    position = 0
    for atom in atoms:
        found = text.find(atom, position)
        assert found >= 0, f"author text lost or moved: {atom!r}"
        position = found + len(atom)


def assert_well_formed(text: str) -> None:
    assert len(BEGIN.findall(text)) == len(find_regions(text)) == len(END.findall(text))


def pick(regions: list[DraftRegion], index: int) -> DraftRegion | None:
    return regions[index % len(regions)] if regions else None


def author_step(op: str, text: str, index: int, step: int, nl: str) -> str:
    """What an author does by hand: edit a draft, write a paragraph, delete a draft, delete its markers."""
    region = pick(find_regions(text), index)
    if op == "write":
        return text + f"{nl}## Notes {step}{nl}{nl}Author paragraph {step}.{nl}"
    if region is None:
        return text
    if op == "edit":
        inner = region.inner.replace("Drafted", f"Corrected{step}", 1) + f"{nl}Author sentence {step}."
        return text[:region.inner_start] + inner + text[region.inner_end:]
    if op == "reject":
        return text[:region.start] + text[region.end:]
    return text[:region.start] + region.inner + text[region.end:]  # unmark


SEQUENCES = given(
    steps=st.lists(st.tuples(st.sampled_from(AUTHOR_OPS + TOOL_OPS), st.integers(0, 7), st.sampled_from(sorted(PAGES))),
                   min_size=1, max_size=14),
    crlf=st.booleans(),
    bom=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@SEQUENCES
def test_no_author_byte_is_ever_lost(steps, crlf, bom):
    check_sequence(steps, crlf, bom)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@SEQUENCES
def test_no_author_byte_is_ever_lost_in_1000_sequences(steps, crlf, bom):
    check_sequence(steps, crlf, bom)


def check_sequence(steps, crlf: bool, bom: bool) -> None:
    """Run one random sequence of author and tool steps on a fresh site, checking every invariant."""
    nl = "\r\n" if crlf else "\n"
    with tempfile.TemporaryDirectory(dir=RAM_DIR) as tmp:
        root = Path(tmp)
        make_site(root, {name: (codecs.BOM_UTF8 if bom else b"") + text.replace("\n", nl).encode()
                          for name, text in PAGES.items()})
        model = fake_model()
        project = fake_project(root, model)
        project.kinds = KINDS
        approvals = set()
        for step, (op, index, name) in enumerate(steps):
            path = root / "docs" / name
            raw = path.read_bytes()
            before = raw.decode("utf-8-sig")
            bom_bytes = raw[:len(raw) - len(before.encode())]
            if op in AUTHOR_OPS:
                path.write_bytes(bom_bytes + author_step(op, before, index, step, nl).encode())
                continue
            store = ReviewStore(root / ".aigen")
            atoms = author_atoms(before)
            if op == "retrain":
                retrain(model)
            elif op in ("draft", "regenerate"):
                files, _ = load_pages(project)
                list(draft_pages(project, store, files, regenerate=op == "regenerate"))
            elif op in ("approve", "approve_section"):
                file = load_pages(project, [name])[0][0]
                region = pick(file.page.regions(), index)
                sections = [region.section] if op == "approve_section" and region else []
                chosen = [r for r in file.page.regions() if not sections or r.section in sections]
                approve_page(project, store, file, sections)
                expected = before
                for r in reversed(chosen):
                    expected = expected[:r.start] + r.inner + expected[r.end:]
                assert path.read_bytes().decode("utf-8-sig") == expected  # only the markers went
                approvals |= {(name, r.section, r.attrs["digest"]) for r in chosen}
            elif op == "status":
                for file in load_pages(project)[0]:
                    sync(store, file.page)
                    rows = page_status(project, store, file.page)
                    regions = file.page.regions()
                    assert sum(row.state == "drafted" for row in rows) == sum(not r.edited for r in regions)
                    assert sum(row.state == "edited" for row in rows) == sum(r.edited for r in regions)
                store.save()
            else:  # build: the plugin's path renders drafts without writing sources
                pages, _ = discover(root / "docs", project.kinds)
                drafts = project.draft(pages, "cache-only")
                rendered = {p.src_path: project.render(p, drafts, "cache-only", store).text for p in pages}
                assert_kept(atoms, rendered[name])
                assert path.read_bytes() == raw
            after = path.read_bytes()
            assert after.startswith(bom_bytes) and after[len(bom_bytes):].decode("utf-8") == after.decode("utf-8-sig")
            text = after.decode("utf-8-sig")
            assert_kept(atoms, text)
            assert_well_formed(text)
            assert text.count("\n") == text.count("\r\n") if crlf else "\r" not in text
        recorded = {(r["page"], r["section"], r["draft_digest"]) for r in iter_feedback(root / ".aigen")}
        assert approvals <= recorded
