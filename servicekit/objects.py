"""Objects in S3-compatible storage through the minio SDK (weed mini embedded, MinIO in Kubernetes).

The SDK is synchronous (urllib3), so every call runs in a worker thread; bytes stream
through in chunks and never sit whole in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import mimetypes
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from minio import Minio
from minio.datatypes import Part
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredPart:
    number: int
    etag: str
    size: int


class BlobStore:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        public_endpoint: str | None = None,
        secure: bool = False,
        public_secure: bool | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.bucket = bucket
        self.region = region
        self.public_endpoint = public_endpoint or endpoint
        self.public_secure = secure if public_secure is None else public_secure
        self.access_key, self.secret_key = access_key, secret_key
        self.client = Minio(endpoint, access_key, secret_key, secure=secure, region=region)
        # Presigned URLs name the endpoint clients reach, which may differ from the internal one.
        self.signer = Minio(public_endpoint or endpoint, access_key, secret_key,
                            secure=secure if public_secure is None else public_secure, region=region)

    @classmethod
    def from_env(cls, bucket: str) -> BlobStore:
        """The store the environment names (S3_ENDPOINT, the AWS_* keys, S3_PUBLIC_ENDPOINT for browsers), with
        the given bucket."""
        env = os.environ
        return cls(
            endpoint=env.get("S3_ENDPOINT", "127.0.0.1:18333"),
            public_endpoint=env.get("S3_PUBLIC_ENDPOINT") or None,
            access_key=env.get("AWS_ACCESS_KEY_ID", "platform-dev"),
            secret_key=env.get("AWS_SECRET_ACCESS_KEY", "platform-dev-secret"),
            bucket=bucket,
            secure=env.get("S3_SECURE", "false") == "true",
            # Browsers reach storage through the public endpoint, often over TLS when the cluster does not.
            public_secure=env["S3_PUBLIC_SECURE"] == "true" if env.get("S3_PUBLIC_SECURE") else None,
        )

    async def ensure_bucket(self) -> None:
        def ensure() -> None:
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as error:
                    if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

        await asyncio.to_thread(ensure)

    # ---- multipart uploads from clients -------------------------------------------------

    async def start_multipart(self, key: str, content_type: str = "application/octet-stream") -> str:
        return await asyncio.to_thread(
            self.client._create_multipart_upload, self.bucket, key, {"Content-Type": content_type}
        )

    def presign_part(self, key: str, upload_id: str, number: int, size: int, expires: timedelta,
                     now: datetime | None = None) -> str:
        """A PUT URL for one part whose signature covers its Content-Length: storage refuses a body of any
        other size (403 SignatureDoesNotMatch), so a part can never be larger than declared."""
        return self._presign_v4("PUT", key, {"partNumber": str(number), "uploadId": upload_id},
                                {"content-length": str(size)}, expires, now or datetime.now(UTC))

    def _presign_v4(self, method: str, key: str, params: dict[str, str], headers: dict[str, str],
                    expires: timedelta, now: datetime) -> str:
        """AWS Signature V4 query-string signing with extra signed headers (the SDK signs `host` only)."""
        host = self.public_endpoint
        path = "/" + quote(f"{self.bucket}/{key}", safe="/~")
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        scope = f"{day}/{self.region}/s3/aws4_request"
        signed = {"host": host, **{name.lower(): value.strip() for name, value in headers.items()}}
        signed_names = ";".join(sorted(signed))
        query = {**params, "X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": f"{self.access_key}/{scope}",
                 "X-Amz-Date": amz_date, "X-Amz-Expires": str(int(expires.total_seconds())),
                 "X-Amz-SignedHeaders": signed_names}
        canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items()))
        canonical_headers = "".join(f"{name}:{signed[name]}\n" for name in sorted(signed))
        canonical = f"{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_names}\nUNSIGNED-PAYLOAD"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key_bytes = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
        scheme = "https" if self.public_secure else "http"
        return f"{scheme}://{host}{path}?{canonical_query}&X-Amz-Signature={signature}"

    async def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        def list_all() -> list[StoredPart]:
            parts: list[StoredPart] = []
            marker = None
            while True:
                result = self.client._list_parts(self.bucket, key, upload_id, part_number_marker=marker)
                parts += [StoredPart(p.part_number, p.etag, p.size or 0) for p in result.parts]
                if not result.is_truncated:
                    return parts
                marker = str(result.next_part_number_marker)

        return await asyncio.to_thread(list_all)

    async def complete_multipart(self, key: str, upload_id: str, parts: list[StoredPart]) -> None:
        await asyncio.to_thread(
            self.client._complete_multipart_upload,
            self.bucket, key, upload_id, [Part(p.number, p.etag) for p in sorted(parts, key=lambda p: p.number)],
        )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await asyncio.to_thread(self.client._abort_multipart_upload, self.bucket, key, upload_id)
        except S3Error as error:
            if error.code != "NoSuchUpload":
                raise

    # ---- objects ------------------------------------------------------------------------

    async def size(self, key: str) -> int:
        return (await asyncio.to_thread(self.client.stat_object, self.bucket, key)).size or 0

    async def sha256(self, key: str) -> str:
        def digest() -> str:
            hasher = hashlib.sha256()
            response = self.client.get_object(self.bucket, key)
            try:
                for chunk in response.stream(CHUNK):
                    hasher.update(chunk)
            finally:
                response.close()
                response.release_conn()
            return hasher.hexdigest()

        return await asyncio.to_thread(digest)

    async def download(self, key: str, path: Path) -> None:
        await asyncio.to_thread(self.client.fget_object, self.bucket, key, str(path))

    async def upload_file(self, key: str, path: Path) -> None:
        content_type = _content_type(path.name)
        await asyncio.to_thread(self.client.fput_object, self.bucket, key, str(path), content_type=content_type)

    async def upload_tree(self, prefix: str, root: Path) -> list[str]:
        keys = []
        files = await asyncio.to_thread(lambda: sorted(p for p in root.rglob("*") if p.is_file()))
        for path in files:
            key = f"{prefix}/{path.relative_to(root).as_posix()}"
            await self.upload_file(key, path)
            keys.append(key)
        return keys

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        import io

        await asyncio.to_thread(
            self.client.put_object, self.bucket, key, io.BytesIO(data), len(data), content_type=content_type
        )

    async def get_bytes(self, key: str, length: int = 0) -> bytes:
        """The object, or its first `length` bytes; for small reads only."""

        def read() -> bytes:
            response = self.client.get_object(self.bucket, key, offset=0, length=length)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(read)

    def presign_get(self, key: str, expires: timedelta, filename: str = "", content_type: str = "") -> str:
        """A GET URL that expires; `filename` names the download, `content_type` is the type the answer carries
        (whatever the object was stored with)."""
        headers = {}
        if filename:
            headers["response-content-disposition"] = content_disposition(filename)
        if content_type:
            headers["response-content-type"] = content_type
        return self.signer.get_presigned_url("GET", self.bucket, key, expires=expires,
                                             response_headers=headers or None)

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.stat_object, self.bucket, key)
            return True
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    async def delete_prefix(self, prefix: str) -> int:
        def delete() -> int:
            names = [o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)]
            errors = list(self.client.remove_objects(self.bucket, [DeleteObject(n) for n in names if n]))
            if errors:
                raise RuntimeError(f"could not delete {len(errors)} objects under {prefix}: {errors[0]}")
            return len(names)

        return await asyncio.to_thread(delete)


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """RFC 6266: an ASCII fallback `filename` (quotes, backslashes, controls and non-ASCII replaced) and the
    real name as RFC 5987 `filename*`, so no file name can break the header or inject parameters."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename) or "download"
    encoded = quote(filename, safe="!#$&+-.^_`|~")
    return f'{disposition}; filename="{fallback}"; filename*=UTF-8\'\'{encoded}'


def _content_type(name: str) -> str:
    if name.endswith(".m3u8"):
        return "application/vnd.apple.mpegurl"
    if name.endswith(".ts"):
        return "video/mp2t"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
