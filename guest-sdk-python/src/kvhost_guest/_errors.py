"""The exceptions a store operation raises: one per case of the WIT's `error`."""

from ._bindings.imports import kvhost_store_types_0_1_0 as wit



class KvError(Exception):
    """Why a store operation failed: the base of one class per kind.

    The host never traps a guest because of a store error; it reports one of
    the kinds below, and the SDK raises it as that subclass::

        try:
            store.put_if_absent("lock", "me")
        except Conflict:
            print("someone else holds the lock")
    """

    #: What `str()` says before the host's text, if any.
    summary = "store error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        #: The host's explanation (empty for the kinds that carry none).
        self.message = message

    @property
    def retryable(self) -> bool:
        """Whether the operation may succeed if tried again later (`Unavailable`)."""
        return False

    def __str__(self) -> str:
        return f"{self.summary}: {self.message}" if self.message else self.summary


class NoSuchStore(KvError):
    """The ID was granted to this guest but no such store is running."""

    summary = "no such store is running"


class AccessDenied(KvError):
    """The guest was not granted this store (or this operation on it).

    Also raised for IDs that name no store at all, so a guest cannot probe
    which stores exist.
    """

    summary = "access denied"


class StoreFull(KvError):
    """A new key was refused because the store holds its maximum number of live entries."""

    summary = "store full"


class InvalidArgument(KvError):
    """A malformed request: an empty or over-long key, a bad cursor, a bad TTL.

    The SDK raises it too, before asking the host, for a TTL that is not
    longer than zero.
    """

    summary = "invalid argument"


class TooLarge(KvError):
    """A value or result over the store's size limit; the message names the limit."""

    summary = "too large"


class Conflict(KvError):
    """A conditional write lost: the version did not match, or the key was already present."""

    summary = "conflict: the condition of the write did not hold"


class Unavailable(KvError):
    """The backend cannot serve now (database down, store stopping); it may be retried."""

    summary = "store unavailable"

    @property
    def retryable(self) -> bool:
        return True


class Other(KvError):
    """Anything else, described by the host."""

    summary = "store error"


def from_wit(error: wit.Error) -> KvError:
    """The exception for a case of the WIT's `error` variant."""
    if isinstance(error, wit.Error_NoSuchStore):
        return NoSuchStore()
    if isinstance(error, wit.Error_AccessDenied):
        return AccessDenied()
    if isinstance(error, wit.Error_StoreFull):
        return StoreFull()
    if isinstance(error, wit.Error_InvalidArgument):
        return InvalidArgument(error.value)
    if isinstance(error, wit.Error_TooLarge):
        return TooLarge(error.value)
    if isinstance(error, wit.Error_Conflict):
        return Conflict()
    if isinstance(error, wit.Error_Unavailable):
        return Unavailable(error.value)
    return Other(error.value)
