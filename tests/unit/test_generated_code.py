"""The committed protobuf modules are exactly what scripts/gen_protos.py makes from protos/."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.generate(tmp_path)
    assert written, "the generator wrote nothing"
    for fresh in written:
        relative = fresh.relative_to(tmp_path)
        committed = ROOT / relative
        assert committed.exists(), f"{relative} is generated but not committed; run `make proto`"
        assert committed.read_bytes() == fresh.read_bytes(), f"{relative} is stale; run `make proto`"
    committed_files = {p.relative_to(ROOT) for p in (ROOT / "coalition").rglob("*_pb2.py*")}
    assert committed_files == {
        p.relative_to(tmp_path) for p in written if p.name.endswith((".py", ".pyi")) and "_pb2" in p.name
    }
