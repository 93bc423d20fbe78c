//! The shared agency feed: push, delete and search, storage with encryption at rest, and matching.
