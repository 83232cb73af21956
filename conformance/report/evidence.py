"""What the artifacts of a run share: exchange bodies as text, the evidence of each check."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from conformance.outcomes import CheckResult
    from conformance.record import WriteEvidence

BODY_SHOWN = 64 * 1024  # bytes of a body the HTML report shows; the HAR keeps all of it

# The write flow runs on its own thread, so the checks judging it list no exchanges of
# their own: these requirements get the flow's exchanges and the token timeline as evidence.
WRITE_FLOW_REQUIREMENTS = frozenset({
    "CHI-KEY-WRITE", "GR2-POST-RESPONSE", "CHI-POST-TOKEN", "CHI-TOKEN-PENDING",
    "CHI-TOKEN-RESOLVES", "CHI-READBACK-ID", "CHI-READBACK-LIST", "CHI-PENDING-ONLY-LISTS",
    "CHI-PENDING-SHAPE",
})


def evidence_for(result: CheckResult, write: WriteEvidence | None) -> list[int]:
    """The exchanges a check's judgement rests on, the write flow's included where it judged it."""
    seqs = list(result.exchanges)
    if write is not None and WRITE_FLOW_REQUIREMENTS.intersection(result.requirement_ids):
        seqs += [s for s in write.exchanges if s not in seqs]
    return seqs


# --- bodies ---------------------------------------------------------------------------------

def body_text(body: bytes, cap: int | None = None) -> tuple[str, bool, int]:
    """(text, is_text, bytes left out). Binary bodies come back empty with is_text False."""
    shown = body if cap is None else body[:cap]
    try:
        text = shown.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a cap can cut a multi-byte character: that is still text
        if cap is not None and exc.start >= len(shown) - 3 and len(body) > cap:
            text = shown[:exc.start].decode("utf-8", "replace")
        else:
            return "", False, len(body)
    return text, True, len(body) - len(shown)


def media_type(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value
    return ""


def query_pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# --- contract and catalogue -----------------------------------------------------------------

def contract_digest(hashes: Mapping[str, str]) -> dict[str, Any]:
    """openapi.yaml's hash, and one digest over every schema (the manifest lists each)."""
    schemas = sorted((p, h) for p, h in hashes.items() if p.startswith("schemas/"))
    joined = "".join(f"{h}  {p}\n" for p, h in schemas).encode("utf-8")
    return {"openapi.yaml": hashes.get("openapi.yaml"), "schemas": hashlib.sha256(joined).hexdigest(),
            "schema_files": len(schemas)}
