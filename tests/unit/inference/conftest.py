import pytest
from inference_fixtures import build_tiny_models, load, model_config


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    build_tiny_models(root)
    return root


@pytest.fixture(scope="session")
def tiny_models(tiny_root):
    """The three tiny models, loaded once (batch up to 8, short wait)."""
    return load(
        tiny_root,
        {
            "classifier": model_config("classifier", "text-classification", max_batch=8, max_wait_ms=1),
            "pair": model_config("pair", "pair-classification", max_batch=8, max_wait_ms=1),
            "embedder": model_config("embedder", "embedding", max_batch=8, max_wait_ms=1),
        },
    )
