"""store.url_env: the Redis URL comes from the environment (a Kubernetes Secret), read at start, never echoed."""

import pytest

from guardd.circuit import build_store
from guardd.circuit.redis_store import RedisStore
from guardd.clock import SystemClock
from guardd.errors import PolicyError
from guardd.policy.loader import load_policy

HEAD = "version: 1\npolicies:\n  default: {}\n"


def _load(tmp_path, section):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + section)
    return load_policy(path).store


def test_url_env_is_a_redis_store_that_loads_without_the_variable(tmp_path):
    # guardd check and guardd rules run in CI, where the secret is absent: loading must not need it.
    store = _load(tmp_path, "store: {url_env: GUARDD_REDIS_URL, prefix: app}\n")
    assert (store.kind, store.url_env, store.prefix) == ("redis", "GUARDD_REDIS_URL", "app")


def test_resolve_reads_the_variable(tmp_path):
    store = _load(tmp_path, "store: {url_env: GUARDD_REDIS_URL}\n")
    resolved = store.resolve({"GUARDD_REDIS_URL": "redis://:s3cret@redis:6379/1"})
    assert (resolved.url, resolved.kind, resolved.prefix) == ("redis://:s3cret@redis:6379/1", "redis", "guardd")


def test_build_store_resolves_from_the_given_environment(tmp_path):
    store = _load(tmp_path, "store: {url_env: GUARDD_REDIS_URL}\n")
    built = build_store(store, SystemClock(), "r1", {"GUARDD_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert isinstance(built, RedisStore)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "store.url_env: GUARDD_REDIS_URL is not set"),
        ({"GUARDD_REDIS_URL": ""}, "store.url_env: GUARDD_REDIS_URL is not set"),
        (
            {"GUARDD_REDIS_URL": "postgres://u:s3cret@db"},
            "store.url_env: GUARDD_REDIS_URL does not hold a redis://, rediss:// or unix:// URL",
        ),
    ],
)
def test_a_missing_or_wrong_variable_fails_start_without_echoing_it(tmp_path, environ, message):
    store = _load(tmp_path, "store: {url_env: GUARDD_REDIS_URL}\n")
    with pytest.raises(PolicyError) as caught:
        build_store(store, SystemClock(), "r1", environ)
    assert str(caught.value) == f"<environment>:1:1: {message}"
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("store: {url: redis://a:6379, url_env: GUARDD_REDIS_URL}\n", "give url or url_env, not both"),
        ("store: {url_env: 'not a name'}\n", "store.url_env"),
    ],
)
def test_bad_url_env_is_a_policy_error(tmp_path, section, message):
    with pytest.raises(PolicyError) as caught:
        _load(tmp_path, section)
    assert any(message in str(d) for d in caught.value.diagnostics), caught.value.diagnostics


def test_a_plain_url_is_unchanged_by_resolve(tmp_path):
    store = _load(tmp_path, "store: redis://127.0.0.1:6379/0\n")
    assert store.resolve({}) is store
    assert _load(tmp_path, "limits: {}\n").kind == "memory"
