//! Encryption at rest: AES-256-GCM with key ids, and keyed blind indexes for searchable identifiers.
