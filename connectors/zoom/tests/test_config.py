import pytest
from evermuse_zoom import ZoomConfig
from pydantic import ValidationError

from evermuse_connectors.connector import RateLimit


def test_defaults_point_at_zoom():
    config = ZoomConfig()
    assert config.api_base_url == "https://api.zoom.us/v2"
    assert config.token_url == "https://zoom.us/oauth/token"
    assert config.download_token_ttl == 7 * 24 * 3600


@pytest.mark.parametrize(
    "url", ["http://api.zoom.us/v2", "http://10.0.0.5:8080/v2", "ftp://x/"]
)
def test_plain_http_to_a_remote_host_is_refused(url):
    with pytest.raises(ValidationError, match="expected https"):
        ZoomConfig(api_base_url=url)
    with pytest.raises(ValidationError, match="token_url"):
        ZoomConfig(token_url=url)


@pytest.mark.parametrize("host", ["127.0.0.1:9", "localhost:9", "[::1]:9"])
def test_plain_http_to_loopback_is_allowed(host):
    assert (
        ZoomConfig(api_base_url=f"http://{host}/v2/").api_base_url
        == f"http://{host}/v2"
    )


def test_credentials_in_the_url_are_refused():
    with pytest.raises(ValidationError, match="without user info"):
        ZoomConfig(api_base_url="https://user:pw@api.zoom.us/v2")


def test_typos_fail_loudly():
    with pytest.raises(ValidationError, match="client_secert"):
        ZoomConfig(client_secert="X")  # type: ignore[call-arg]


def test_a_pasted_secret_is_not_echoed():
    secret = "abc.def/ghi-SECRET-VALUE"
    with pytest.raises(ValidationError, match="client_secret_env") as caught:
        ZoomConfig(client_secret_env=secret)
    assert "SECRET-VALUE" not in str(caught.value)


@pytest.mark.parametrize("ttl", [0, 59, 604801])
def test_download_token_ttl_is_bounded_by_zooms_seven_days(ttl):
    with pytest.raises(ValidationError, match="download_token_ttl"):
        ZoomConfig(download_token_ttl=ttl)


def test_rate_budget_is_a_share_of_the_plan():
    assert ZoomConfig().rate_limit("medium") == RateLimit(10.0, 1.0, 1)
    assert ZoomConfig(plan="business_plus", rate_share=1).rate_limit(
        "light"
    ) == RateLimit(80.0, 1.0, 1)
    assert ZoomConfig(medium_per_second=3).rate_limit("medium").requests == 3


def test_users_and_domains_are_cleaned():
    config = ZoomConfig(
        users=[" ana@x.example ", "ana@x.example", "U123"],
        internal_domains=["@Northwind.Example"],
    )
    assert config.users == ["ana@x.example", "U123"]
    assert config.internal_domains == ["northwind.example"]
    with pytest.raises(ValidationError, match="users"):
        ZoomConfig(users=["a/b"])
    with pytest.raises(ValidationError, match="internal_domains"):
        ZoomConfig(internal_domains=["localhost"])
