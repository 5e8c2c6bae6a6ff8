"""Generate the Python protobuf modules from protos/ (the one way they are made).

Usage: python scripts/gen_protos.py [OUTPUT_ROOT]

Writes coalition/exchange/v1/*_pb2.py and *_pb2.pyi under OUTPUT_ROOT (default: the
repository root). tests/unit/test_generated_code.py generates into a temporary folder and
fails if the committed files differ, so never edit them by hand: change the .proto, rerun.

Only the coalition package is generated. protos/google/rpc/ (status.proto, error_details.proto,
vendored from googleapis so other languages generate the error details with the contract) is
deliberately not: Python gets google.rpc from the googleapis-common-protos package, and a second
copy of google/rpc/*_pb2 would register the same files twice in protobuf's descriptor pool.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
PACKAGE_DIR = Path("coalition", "exchange", "v1")


def generate(output_root: Path) -> list[Path]:
    """Generate the modules under output_root and return the files written."""
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    package = output_root / PACKAGE_DIR
    for folder in (package.parent.parent, package.parent, package):
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text('"""Generated from protos/ by scripts/gen_protos.py; do not edit."""\n')
    return sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT
    for path in generate(root):
        print(path.relative_to(root))
