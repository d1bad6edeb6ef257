"""The MLflow model registry: log, register, alias (`challenger`, `champion`) and load bundles.

Split by concern (docs/service.md "Faults" gives the invariants): `client` (one explicit MLflow
client per registry URI; the store checks), `lifecycle` (register, complete/reject, aliases,
promote), `integrity` (digests, the crash-safe booster parse, bundle structure, the registry
file's identity), `roundtrip` (load a just-registered version back and compare) and `loading`
(load one version or every target's). Every name is importable from `models.registry`.
"""

from los.errors import (
    ModelLoadError,
    ModelNotFoundError,
    PromotionRefusedError,
    RegistryUnavailableError,
)
from models.registry.client import (
    EXPERIMENT,
    Registry,
    connect,
    connected,
    describe_registry_error,
    fluent_tracking,
    open_registry,
    read_run_text,
    require_registry,
    sqlite_path,
)
from models.registry.integrity import check_bundle, store_identity
from models.registry.lifecycle import (
    CHALLENGER,
    CHAMPION,
    CHECKSUM_TAG,
    COMPLETE,
    FORMAT_TAG,
    INCOMPLETE,
    PIP_REQUIREMENTS,
    REJECTED,
    REJECTED_REASON_TAG,
    STATE_TAG,
    SUPPORTED_FORMATS,
    ModelIdentity,
    log_bundle,
    mark_complete,
    mark_rejected,
    promote,
    promotion_problem,
    registered_names,
    resolve,
    version_state,
    withdraw_champion,
)
from models.registry.loading import (
    LoadedModel,
    in_target_order,
    load_bundle,
    load_models,
    local_artifact_dir,
)
from models.registry.roundtrip import ROUNDTRIP_TOLERANCE, verify_version

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "CHECKSUM_TAG",
    "COMPLETE",
    "EXPERIMENT",
    "FORMAT_TAG",
    "INCOMPLETE",
    "PIP_REQUIREMENTS",
    "REJECTED",
    "REJECTED_REASON_TAG",
    "ROUNDTRIP_TOLERANCE",
    "STATE_TAG",
    "SUPPORTED_FORMATS",
    "LoadedModel",
    "ModelIdentity",
    "ModelLoadError",
    "ModelNotFoundError",
    "PromotionRefusedError",
    "Registry",
    "RegistryUnavailableError",
    "check_bundle",
    "connect",
    "connected",
    "describe_registry_error",
    "fluent_tracking",
    "in_target_order",
    "load_bundle",
    "load_models",
    "local_artifact_dir",
    "log_bundle",
    "mark_complete",
    "mark_rejected",
    "open_registry",
    "promote",
    "promotion_problem",
    "read_run_text",
    "registered_names",
    "require_registry",
    "resolve",
    "sqlite_path",
    "store_identity",
    "verify_version",
    "version_state",
    "withdraw_champion",
]
