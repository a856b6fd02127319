"""Generates the Python modules of every proto under proto/ into tongcheng/ (committed; see --check)."""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE_INIT = '"""Generated from proto/ by tools/gen_protos.py: do not edit."""\n'


def generate(out_dir: Path) -> list[Path]:
    """Runs protoc over every .proto file into out_dir; returns the files written."""
    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(PROTO_ROOT)) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for proto in protos:
        package_dir = out_dir / proto.relative_to(PROTO_ROOT).parent
        for parent in [package_dir, *package_dir.relative_to(out_dir).parents]:
            init = out_dir / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text(PACKAGE_INIT)
    return sorted(p for p in out_dir.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed modules are stale")
    ns = parser.parse_args()
    if not ns.check:
        generate(ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = [
            str(p.relative_to(tmp))
            for p in fresh
            if not (ROOT / p.relative_to(tmp)).exists() or not filecmp.cmp(p, ROOT / p.relative_to(tmp), False)
        ]
    if stale:
        print("stale generated modules (run `make proto`):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
