"""A lean AWS client for the two calls on the services' hot path: DynamoDB's JSON API and S3 objects.

Why not botocore: it costs a service process ~45 MB of RSS and a millisecond of CPU per call, and replicas
run with a quarter of a core. This is SigV4-signed HTTP/1.1 over a keep-alive pool, parsed by httptools
(already here for uvicorn). The signature is checked against botocore's in the tests. Bulk and admin
work (seeding, tests) keeps using boto3/aiobotocore.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import httptools
import orjson

__all__ = ["AwsError", "AwsHttp", "CredentialSource", "Credentials", "credential_source", "sign_v4"]


class AwsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    @classmethod
    def from_env(cls) -> Credentials:
        """Static keys from the environment; emulators accept anything."""
        return cls(
            os.environ.get("AWS_ACCESS_KEY_ID", "tenfold"),
            os.environ.get("AWS_SECRET_ACCESS_KEY", "tenfold"),
            os.environ.get("AWS_SESSION_TOKEN"),
        )


CredentialSource = Callable[[], Credentials]


def credential_source() -> CredentialSource:
    """Static keys when the environment has them (local stack, CI); otherwise botocore's provider chain.

    On EKS the pods get IRSA web-identity tokens and on EC2 instance-profile keys, both short-lived: botocore
    refreshes them. It is imported only in that case, so local replicas don't pay its memory.
    """
    if "AWS_ACCESS_KEY_ID" in os.environ or not (
        "AWS_WEB_IDENTITY_TOKEN_FILE" in os.environ or "AWS_CONTAINER_CREDENTIALS_FULL_URI" in os.environ
        or "AWS_PROFILE" in os.environ or os.environ.get("TENFOLD_AWS_CREDENTIAL_CHAIN") == "1"
    ):  # fmt: skip
        static = Credentials.from_env()
        return lambda: static
    import botocore.session

    resolved = botocore.session.get_session().get_credentials()
    if resolved is None:
        raise RuntimeError("no AWS credentials found: set AWS_ACCESS_KEY_ID or use IRSA / an instance profile")

    def current() -> Credentials:
        frozen = resolved.get_frozen_credentials()  # refreshes when close to expiry
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    return current


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign_v4(
    *,
    method: str,
    host: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    service: str,
    region: str,
    creds: Credentials,
    now: float | None = None,
) -> dict[str, str]:
    """Headers to add for AWS Signature Version 4 (the header form, payload hash included)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    payload_hash = hashlib.sha256(body).hexdigest()
    out = {"x-amz-date": stamp, "x-amz-content-sha256": payload_hash}
    if creds.token:
        out["x-amz-security-token"] = creds.token
    signed = {k.lower(): v.strip() for k, v in {**headers, **out, "host": host}.items()}
    names = sorted(signed)
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    )
    canonical = "\n".join(
        [
            method,
            urllib.parse.quote(path, safe="/-_.~"),
            canonical_query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{creds.secret_key}".encode(), stamp[:8]), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


class _Response:
    def __init__(self, head_only: bool) -> None:
        self.head_only = head_only
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_headers_complete(self) -> None:
        if self.head_only:
            self.done = True

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


class AwsHttp:
    """Signed requests to one endpoint over at most ``pool`` idle keep-alive connections.

    A connection that saw an error or a cancellation (our timeouts cancel) is closed, never reused.
    """

    def __init__(
        self, endpoint: str, *, service: str, region: str, creds: CredentialSource | None = None, pool: int = 32
    ) -> None:
        url = urllib.parse.urlsplit(endpoint or f"https://{service}.{region}.amazonaws.com")
        self.tls = url.scheme == "https"
        self.hostname = url.hostname or "127.0.0.1"
        self.port = url.port or (443 if self.tls else 80)
        self.host = url.netloc
        self.service = service
        self.region = region
        self.creds = creds or credential_source()
        self.pool_max = pool
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._ssl = ssl.create_default_context() if self.tls else None

    async def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None, query: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        hdrs = dict(headers or {})
        hdrs.update(
            sign_v4(
                method=method, host=self.host, path=path, query=query, headers=hdrs, body=body,
                service=self.service, region=self.region, creds=self.creds(),
            )
        )  # fmt: skip
        target = urllib.parse.quote(path, safe="/-_.~") + (f"?{query}" if query else "")
        head = f"{method} {target} HTTP/1.1\r\nhost: {self.host}\r\ncontent-length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        reader, writer = await self._connection()
        try:
            writer.write(head.encode() + body)
            resp = _Response(head_only=method == "HEAD")
            parser = httptools.HttpResponseParser(resp)
            while not resp.done:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionResetError(f"{self.host} closed the connection")
                parser.feed_data(data)
            status = parser.get_status_code()
        except BaseException:
            writer.close()
            raise
        if resp.headers.get("connection", "").lower() == "close" or len(self._idle) >= self.pool_max:
            writer.close()
        else:
            self._idle.append((reader, writer))
        return status, resp.headers, bytes(resp.body)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer = self._idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.hostname, self.port, ssl=self._ssl)

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def dynamodb(self, operation: str, payload: dict[str, object]) -> dict[str, object]:
        """One DynamoDB JSON-protocol call (``GetItem``, ``DescribeTable``, ...)."""
        status, _, body = await self.request(
            "POST",
            "/",
            body=orjson.dumps(payload),
            headers={
                "content-type": "application/x-amz-json-1.0",
                "x-amz-target": f"DynamoDB_20120810.{operation}",
            },
        )
        doc: dict[str, object] = orjson.loads(body) if body else {}
        if status != 200:
            code = str(doc.get("__type", "")).rpartition("#")[2] or "HTTPError"
            raise AwsError(status, code, str(doc.get("message") or doc.get("Message") or body[:200]))
        return doc

    async def s3(self, method: str, bucket: str, key: str = "", body: bytes = b"") -> tuple[int, bytes]:
        """Path-style S3 call; raises :class:`AwsError` on anything but 2xx."""
        path = f"/{bucket}" + (f"/{key}" if key else "")
        status, _, data = await self.request(method, path, body=body)
        if not 200 <= status < 300:
            raise AwsError(status, "S3Error", data[:200].decode(errors="replace"))
        return status, data
