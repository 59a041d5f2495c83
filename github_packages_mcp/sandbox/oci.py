"""OCI manifests for the sandbox's container registry: deterministic builders and the few facts read back."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

IMAGE_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
IMAGE_INDEX: Final = "application/vnd.oci.image.index.v1+json"
IMAGE_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
IMAGE_LAYER: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
EMPTY: Final = "application/vnd.oci.empty.v1+json"
IN_TOTO: Final = "application/vnd.in-toto+json"
COSIGN_SIGNATURE: Final = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGSTORE_BUNDLE: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"
# BuildKit marks an attestation manifest inside an index with these annotations.
REFERENCE_TYPE: Final = "vnd.docker.reference.type"
REFERENCE_DIGEST: Final = "vnd.docker.reference.digest"
UNKNOWN_PLATFORM: Final = {"architecture": "unknown", "os": "unknown"}

Json = dict[str, Any]


class RegistryError(Exception):
    """An OCI distribution error; the registry turns it into `{"errors": [{"code": ..., "message": ...}]}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A manifest's exact bytes; its digest is computed from them, so the two can never disagree."""

    body: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.body)

    def descriptor(self, **extra: object) -> Json:
        """An OCI descriptor pointing at this manifest, with `extra` fields such as platform or annotations."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.body), **extra}


_EMPTY_CONFIG: Final = {"mediaType": EMPTY, "digest": sha256_digest(b"{}"), "size": 2, "data": "e30="}


def _encode(document: Json) -> Manifest:
    return Manifest(json.dumps(document, separators=(",", ":")).encode(), document["mediaType"])


def _blob(media_type: str, seed: str, typical_size: int, **extra: object) -> Json:
    """A descriptor of a made-up but well-formed blob: digest and size follow from `seed`."""
    size = typical_size // 2 + zlib.crc32(seed.encode()) % typical_size
    return {"mediaType": media_type, "digest": sha256_digest(seed.encode()), "size": size, **extra}


def _manifest(config: Json, layers: list[Json], **extra: object) -> Manifest:
    return _encode({"schemaVersion": 2, "mediaType": IMAGE_MANIFEST, "config": config, "layers": layers, **extra})


@lru_cache(maxsize=2048)  # the demo world is rebuilt on every reset, from the same seeds
def image(seed: str) -> Manifest:
    """A single-platform image: a config and one layer."""
    return _manifest(_blob(IMAGE_CONFIG, f"{seed}:config", 1_600), [_blob(IMAGE_LAYER, f"{seed}:layer", 3_000_000)])


def attestation(seed: str) -> Manifest:
    """A BuildKit provenance attestation (the index entry pointing at it names the image it describes)."""
    predicate = {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}
    layer = _blob(IN_TOTO, f"{seed}:provenance", 12_000, annotations=predicate)
    return _manifest(_blob(IMAGE_CONFIG, f"{seed}:config", 240), [layer])


def index(
    platforms: Sequence[tuple[Manifest, str]], attestations: Sequence[tuple[Manifest, Manifest]] = ()
) -> Manifest:
    """A multi-platform image index as `docker buildx` pushes it: platform images, then their attestations.

    `platforms` pairs an image with its "os/architecture"; `attestations` pairs an attestation with its image.
    """
    entries = []
    for image_manifest, platform in platforms:
        os, _, architecture = platform.partition("/")
        entries.append(image_manifest.descriptor(platform={"architecture": architecture, "os": os}))
    for statement, described in attestations:
        annotations = {REFERENCE_DIGEST: described.digest, REFERENCE_TYPE: "attestation-manifest"}
        entries.append(statement.descriptor(annotations=annotations, platform=dict(UNKNOWN_PLATFORM)))
    return _encode(image_index(entries))


def signature_tag(digest: str) -> str:
    """The tag cosign stores a signature of `digest` under: "sha256-<hex>.sig"."""
    return referrers_tag(digest) + ".sig"


def cosign_signature(signed: Manifest) -> Manifest:
    """A cosign signature of `signed`: one simple-signing layer carrying the signature annotation."""
    seed = f"cosign:{signed.digest}"
    signature = base64.b64encode(hashlib.sha512(seed.encode()).digest()).decode()
    layer = _blob(COSIGN_SIGNATURE, seed, 260, annotations={"dev.cosignproject.cosign/signature": signature})
    return _manifest(_blob(IMAGE_CONFIG, f"{seed}:config", 240), [layer])


PROVENANCE: Final = "https://slsa.dev/provenance/v1"
SPDX: Final = "https://spdx.dev/Document"


def sigstore_bundle(subject: Manifest, predicate: str = PROVENANCE) -> Manifest:
    """An OCI 1.1 referrer: a Sigstore bundle artifact whose `subject` is `subject`, attesting `predicate`."""
    seed = f"bundle:{subject.digest}" + ("" if predicate == PROVENANCE else f":{predicate}")
    annotations = {
        "dev.sigstore.bundle.content": "dsse-envelope",
        "dev.sigstore.bundle.predicateType": predicate,
    }
    return _manifest(
        _EMPTY_CONFIG,
        [_blob(SIGSTORE_BUNDLE, seed, 9_000)],
        artifactType=SIGSTORE_BUNDLE,
        subject=subject.descriptor(),
        annotations=annotations,
    )


def referrers_tag_index(subject: Manifest, artifacts: Sequence[Manifest]) -> Manifest:
    """The index a client without a referrers API pushes under the tag `sha256-<hex>` of `subject`: the
    descriptors of the artifacts about it, as the OCI referrers tag schema lists them (with artifactType)."""
    found = (referrer(artifact.body, subject.digest) for artifact in artifacts)
    return _encode(image_index([descriptor for descriptor in found if descriptor is not None]))


def referrers_tag(digest: str) -> str:
    """The tag of the referrers index of `digest`: "sha256-<hex>"."""
    return digest.replace(":", "-")


def referrer(body: bytes, subject: str) -> Json | None:
    """The descriptor the referrers API lists for this manifest when its subject is the digest `subject`."""
    if b'"subject"' not in body:  # most manifests have none: skip parsing them
        return None
    document = json.loads(body)
    if not isinstance(document.get("subject"), dict) or document["subject"].get("digest") != subject:
        return None
    # OCI: an artifact without artifactType is typed by its config's media type.
    artifact_type = document.get("artifactType") or document.get("config", {}).get("mediaType")
    descriptor = {
        "mediaType": document["mediaType"],
        "digest": sha256_digest(body),
        "size": len(body),
        "artifactType": artifact_type,
    }
    if document.get("annotations"):
        descriptor["annotations"] = document["annotations"]
    return descriptor


def image_index(manifests: Sequence[Json]) -> Json:
    """An image index document listing `manifests` (what the referrers API answers)."""
    return {"schemaVersion": 2, "mediaType": IMAGE_INDEX, "manifests": list(manifests)}
