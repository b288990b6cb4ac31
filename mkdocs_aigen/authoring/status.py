"""Review state of drafted sections: one vocabulary for the HTML, the review queue, report.json and status."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RegionInfo:
    """What the review mark of one draft region shows."""

    section: str
    status: str  # "unreviewed" | "edited" | "missing"
    code: list[dict] = field(default_factory=list)

    @property
    def code_status(self) -> str | None:
        statuses = [c["status"] for c in self.code]
        for status in ("invalid", "unchecked", "ok"):
            if status in statuses:
                return status
        return None


@dataclass
class PageReview:
    """A stub page as built: its drafts in order and where each came from."""

    src_path: str
    title: str
    topic: str
    regions: list[tuple[str, RegionInfo]] = field(default_factory=list)  # (heading, info)
    authored: int = 0
    generated: int = 0
    cached: int = 0
    embedded: int = 0

    @property
    def awaiting(self) -> list[tuple[str, RegionInfo]]:
        return [(h, r) for h, r in self.regions if r.status in ("unreviewed", "edited")]

    def code_counts(self) -> dict[str, int]:
        samples = [c for _, r in self.regions for c in r.code]
        return {
            "drafted": len(samples),
            "valid_first_try": sum(c["status"] == "ok" and c.get("attempts", 1) == 1 for c in samples),
            "valid_after_retries": sum(c["status"] == "ok" and c.get("attempts", 1) > 1 for c in samples),
            "invalid": sum(c["status"] == "invalid" for c in samples),
            "unchecked": sum(c["status"] == "unchecked" for c in samples),
        }
