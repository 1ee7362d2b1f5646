"""Where the public Amazon samples are: shared/ beside the checkout (as CI lays it out), else /work/shared."""

from pathlib import Path

from ledger_service.settings import REPO_ROOT

_CANDIDATES = [REPO_ROOT.parent / "shared" / "samples" / "amazon", Path("/work/shared/samples/amazon")]
SAMPLES = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])
