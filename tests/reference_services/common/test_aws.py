"""The lean AWS client: its SigV4 signature equals botocore's, and it talks to real emulators."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from reference_services.common.aws import AwsError, AwsHttp, Credentials, sign_v4


@pytest.mark.parametrize(
    ("method", "service", "path", "query", "headers", "body"),
    [
        ("POST", "dynamodb", "/", "", {"content-type": "application/x-amz-json-1.0",
                                       "x-amz-target": "DynamoDB_20120810.GetItem"}, b'{"TableName":"t"}'),
        ("PUT", "s3", "/bucket/events/2026/11/24/r-1.jsonl", "", {}, b'{"a":1}\n'),
        ("HEAD", "s3", "/bucket", "", {}, b""),
        ("GET", "s3", "/bucket", "list-type=2&prefix=events%2F", {}, b""),
    ],
)  # fmt: skip
def test_signature_matches_botocore(
    method: str, service: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token123")
    now = time.time()
    ours = sign_v4(method=method, host="127.0.0.1:4566", path=path, query=query, headers=headers, body=body,
                   service=service, region="eu-west-1", creds=creds, now=now)  # fmt: skip
    url = f"http://127.0.0.1:4566{path}" + (f"?{query}" if query else "")
    stamped = {**headers, "x-amz-date": ours["x-amz-date"], "x-amz-content-sha256": ours["x-amz-content-sha256"]}
    req = AWSRequest(method=method, url=url, data=body, headers=stamped)
    auth = SigV4Auth(BotoCredentials(creds.access_key, creds.secret_key, creds.token), service, "eu-west-1")
    auth._modify_request_before_signing = lambda request: (  # type: ignore[method-assign]
        request.headers.__setitem__("X-Amz-Security-Token", creds.token)
    )
    auth._timestamp = lambda: ours["x-amz-date"]  # type: ignore[method-assign]
    auth.add_auth(req)
    assert ours["authorization"].split("Signature=")[1] == req.headers["Authorization"].split("Signature=")[1]


async def test_dynamodb_and_s3_calls_against_the_emulators(stores: dict[str, str]) -> None:
    dyn = AwsHttp(stores["TENFOLD_DYNAMODB_ENDPOINT"], service="dynamodb", region="us-east-1")
    item = await dyn.dynamodb("GetItem", {"TableName": "tenfold-titles", "Key": {"id": {"N": "2"}}})
    assert '"id":2' in item["Item"]["doc"]["S"]  # type: ignore[index]
    with pytest.raises(AwsError) as exc:
        await dyn.dynamodb("GetItem", {"TableName": "no-such-table", "Key": {"id": {"N": "2"}}})
    assert exc.value.code == "ResourceNotFoundException"
    s3 = AwsHttp(stores["TENFOLD_S3_ENDPOINT"], service="s3", region="us-east-1")
    assert (await s3.s3("PUT", "tenfold-events", "probe/a.txt", b"hello"))[0] == 200
    assert (await s3.s3("GET", "tenfold-events", "probe/a.txt"))[1] == b"hello"
    assert (await s3.s3("HEAD", "tenfold-events"))[0] == 200
    with pytest.raises(AwsError):
        await s3.s3("HEAD", "no-such-bucket")
    await dyn.close()
    await s3.close()


def test_credentials_come_from_botocores_chain_when_no_static_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """IRSA/instance-profile style: no static keys in the environment → botocore's chain, refreshed per call."""
    from reference_services.common.aws import credential_source

    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("TENFOLD_AWS_CREDENTIAL_CHAIN", "1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(RuntimeError, match="no AWS credentials found"):
        credential_source()
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = AKIDCHAIN\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    assert credential_source()().access_key == "AKIDCHAIN"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSTATIC")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert credential_source()().access_key == "AKIDSTATIC"
