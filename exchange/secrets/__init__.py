"""The hub's data-protection building blocks: keys, envelope encryption, pairwise member ids.

Members who link accounts across brands are known to each brand only by a pairwise id, and
their attributes are encrypted at rest so that consent can be withdrawn and data erased by
deleting a key. This package holds the cryptography for that and nothing else: no database,
no gRPC, no domain rules.

    keyring    the hub's secrets in one JSON file (mode 0600): master keys by id, one of them
               current, and the pairwise secret; generated on first use, rotated by adding a
               master key
    envelope   each member's attributes are sealed under their own random data key
               (AES-256-GCM); the data key is stored wrapped under a master key and bound to
               the member, so rotating a master key rewraps 32-byte keys, not the data, and
               erasing a member means deleting their wrapped key
    pairwise   the id a brand knows a member by (HKDF of the member id, per brand), one-time
               link codes a member types, and the digests codes are stored as

Expected failures, one shallow tree (each class has a stable ``reason``):

    SecretsError                   any failure of this package
     +-- UnknownMasterKey          the keyring holds no master key with that id (keyring)
     +-- UnwrapError               a wrapped data key is malformed, tampered with, bound to
     |                             another member or under an unknown master key (envelope)
     +-- DecryptError              a sealed value is malformed, tampered with or was sealed
                                   under another data key or associated data (envelope)

A malformed keyring file and misuse (a data key of the wrong size, an empty id) are
``ValueError``: they are configuration or programming errors, not runtime outcomes.
"""
