//! Poll-mode dataplane (placeholder until the dataplane issue lands).
