"""The generated modules under src/guardd/v1 must be exactly what guard.proto generates."""

from importlib.resources import files
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("guard_pb2.py", "guard_pb2.pyi", "guard_pb2_grpc.py")


def test_generated_code_matches_proto(tmp_path):
    status = protoc.main(
        [
            "protoc",
            f"-I{ROOT / 'proto'}",
            f"-I{files('grpc_tools') / '_proto'}",  # google/protobuf/*.proto, as `python -m grpc_tools.protoc` adds
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            str(ROOT / "proto/guardd/v1/guard.proto"),
        ]
    )
    assert status == 0
    for name in GENERATED:
        fresh = (tmp_path / "guardd/v1" / name).read_text()
        committed = (ROOT / "src/guardd/v1" / name).read_text()
        assert fresh == committed, f"src/guardd/v1/{name} is stale: run `make proto` and commit the result"
