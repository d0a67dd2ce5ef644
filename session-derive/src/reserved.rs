//! The names a field cannot take: the methods of `typed_sessions::Session<T>`, which a field
//! accessor of the same name (reached through `Deref`) would hide.
//!
//! The one list of them. `tests/architecture.rs` reads this file and the `impl` of
//! `Session<T>` in the runtime crate, and fails when a method is added there without being
//! added here (or is listed here and gone there).

/// Every inherent method of `typed_sessions::Session<T>`.
pub(crate) const SESSION_METHODS: &[&str] = &[
    "save",
    "persist",
    "delete",
    "invalidate",
    "cycle_id",
    "is_new",
    "remember",
    "remembered",
    "fingerprint",
    "bind_owner",
    "owner",
    "sessions",
    "log_out_everywhere",
    "log_out_others",
    "credentials_changed",
    "reauthenticated",
    "authenticated_at",
    "authenticated_within",
    "revoke",
    "set_device_label",
    "device_label",
    "offer_device_binding",
    "is_device_bound",
];
