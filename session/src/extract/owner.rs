//! The methods of [`Session<T>`] about its owner: binding on login, listing and revoking the
//! owner's sessions, freshness and the device label.
//!
//! The owner feature lives where the layering puts each part: `id/owner.rs` (the `Owner`
//! type and its check), `builtin/owner.rs` (the owner, kept in the record),
//! `request/owner.rs` (binding, listing and revoking from a request), `extract/owner.rs`
//! (the same on the extractor) and `accounts/mod.rs` (listing and revoking from anywhere).

use super::Session;
use crate::error::Error;
use crate::id::{InvalidOwnerError, Owner};
use crate::typed::SessionData;

impl<T: SessionData> Session<T> {
    /// Binds the session to `owner` (a user id): on login. The session gets a new id, as
    /// with [`cycle_id`](Self::cycle_id), unless it already had this owner, so a login
    /// needs no `cycle_id()` of its own against session fixation. It also records the time
    /// of the login for [`Fresh`](crate::Fresh) and stamps the owner's revocation epoch. A session bound
    /// to another owner is ended first, as by [`invalidate`](Self::invalidate): the new
    /// owner starts afresh, with none of the other's fields, flash message, CSRF secret or
    /// remember-me. Bound, the session is then
    /// listed and revoked with the owner's other sessions ([`sessions`](Self::sessions),
    /// [`log_out_everywhere`](Self::log_out_everywhere)), and
    /// [`SessionLayer::accounts`](crate::SessionLayer::accounts) reaches it from outside a
    /// request. `delete()` and `invalidate()` unbind it: the fresh session has no owner.
    ///
    /// ```
    /// use typed_sessions::Session;
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     name: Option<String>,
    /// }
    ///
    /// async fn login(auth: Session<Auth>) {
    ///     // ... once the password checked out:
    ///     auth.bind_owner("user-42").expect("1 to 256 bytes");
    ///     auth.set_name(Some("Ada".into()));
    /// }
    /// ```
    ///
    /// # Errors
    /// [`InvalidOwnerError`](crate::error::InvalidOwnerError) for an owner that is not an
    /// [`Owner`](crate::Owner): empty, over 256 bytes, or with a control character.
    pub fn bind_owner<O>(&self, owner: O) -> Result<(), InvalidOwnerError>
    where
        O: TryInto<Owner, Error = InvalidOwnerError>,
    {
        self.request.bind_owner(&owner.try_into()?);
        // A login is when a device binds its session (DBSC), if the layer asks for it.
        self.request.offer_device_binding();
        Ok(())
    }

    /// Offers the browser to bind this session to a key of its device (DBSC,
    /// [`crate::dbsc`]): the response carries the registration header and its challenge.
    /// [`bind_owner`](Self::bind_owner) does it on login; call this to bind a session
    /// without an owner, or again later. Nothing without
    /// [`with_device_binding`](crate::SessionLayer::with_device_binding) on the layer.
    pub fn offer_device_binding(&self) {
        self.request.offer_device_binding();
    }

    /// Whether the session is bound to its device (DBSC): registered, and proven on this
    /// request by its bound cookie.
    #[must_use]
    pub fn is_device_bound(&self) -> bool {
        self.request.is_device_bound()
    }

    /// The owner the session is bound to, if any.
    #[must_use]
    pub fn owner(&self) -> Option<Owner> {
        self.request.owner()
    }

    /// The live sessions of this session's owner, oldest first, this one marked
    /// [`current`](crate::ActiveSession::current); none when the session has no owner.
    /// With a cookie store, which keeps no list, only this session.
    ///
    /// # Errors
    /// When the store fails, or keeps no index by owner.
    pub async fn sessions(&self) -> Result<Vec<crate::accounts::ActiveSession>, Error> {
        self.request.sessions().await
    }

    /// Revokes every session of this session's owner, this one too ("log out
    /// everywhere"): once it returns, none of them opens on any instance, and a request of
    /// one still in flight saves nothing. This request goes on as after
    /// [`delete`](Self::delete). Does nothing when the session has no owner.
    ///
    /// Returns how many sessions ended, this one included (0 without an owner): `None`
    /// where the store cannot count them (cookie sessions, which the server does not keep,
    /// and a store without an owner index); they are refused all the same.
    ///
    /// # Errors
    /// When the store fails; with a cookie store, also when the layer has no
    /// [revocation store](crate::SessionLayer::with_revocation_store).
    pub async fn log_out_everywhere(&self) -> Result<Option<u64>, Error> {
        self.request.log_out_everywhere().await
    }

    /// Revokes every session of this session's owner but this one ("log out other
    /// devices"). Does nothing when the session has no owner.
    ///
    /// Returns how many sessions ended, as [`log_out_everywhere`](Self::log_out_everywhere)
    /// does.
    ///
    /// # Errors
    /// As [`log_out_everywhere`](Self::log_out_everywhere).
    pub async fn log_out_others(&self) -> Result<Option<u64>, Error> {
        self.request.log_out_others().await
    }

    /// The owner's password (or another credential) changed: every other session of the
    /// owner ends, on every instance sharing the store, as on
    /// [`log_out_others`](Self::log_out_others), and this one goes on under a new id, so
    /// that whoever copied its old id has nothing. A session of the owner bound before
    /// this call is refused wherever it turns up later: a rotation in flight, a restored
    /// backup of the store, a copied cookie (with a cookie store, given a
    /// [revocation store](crate::SessionLayer::with_revocation_store)). Does nothing when
    /// the session has no owner.
    ///
    /// ```
    /// use typed_sessions::Session;
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     name: Option<String>,
    /// }
    ///
    /// async fn change_password(auth: Session<Auth>) -> Result<(), typed_sessions::Error> {
    ///     // ... once the new password is stored:
    ///     let ended = auth.credentials_changed().await?;
    ///     tracing::info!(?ended, "password changed; other sessions ended");
    ///     Ok(())
    /// }
    /// ```
    ///
    /// Returns how many other sessions ended, as [`log_out_others`](Self::log_out_others).
    ///
    /// # Errors
    /// As [`log_out_everywhere`](Self::log_out_everywhere).
    pub async fn credentials_changed(&self) -> Result<Option<u64>, Error> {
        self.request.credentials_changed().await
    }

    /// The user has just proved who they are again (a password, a second factor): the
    /// session counts as freshly authenticated, as on login, for [`Fresh`](crate::Fresh) and
    /// [`authenticated_within`](Self::authenticated_within). Does nothing without an owner.
    pub fn reauthenticated(&self) {
        self.request.reauthenticated();
    }

    /// When the session's user last authenticated: bound the session to its owner (see
    /// [`bind_owner`](Self::bind_owner)) or was [`reauthenticated`](Self::reauthenticated).
    /// `None` without an owner. The clock is the instance's that recorded it.
    #[must_use]
    pub fn authenticated_at(&self) -> Option<std::time::SystemTime> {
        self.request.authenticated_at()
    }

    /// Whether the session's user authenticated less than `within` ago; `false` without an
    /// owner. [`Fresh`](crate::Fresh) refuses a handler on the layer's
    /// [freshness](crate::SessionLayer::with_freshness); this asks for any other duration.
    #[must_use]
    pub fn authenticated_within(&self, within: std::time::Duration) -> bool {
        // A time ahead of this instance's clock (another's runs fast) counts as now.
        self.authenticated_at().is_some_and(|at| {
            std::time::SystemTime::now()
                .duration_since(at)
                .map_or(true, |age| age < within)
        })
    }

    /// Revokes the session of this session's owner that has `fingerprint` (as
    /// [`sessions`](Self::sessions) lists it); this one ends as on [`delete`](Self::delete).
    /// `false` when the owner has no such session: a fingerprint of another owner's session
    /// revokes nothing.
    ///
    /// # Errors
    /// When the store fails, or keeps no index by owner (a cookie store, for any session
    /// but this one).
    pub async fn revoke(&self, fingerprint: crate::id::Fingerprint) -> Result<bool, Error> {
        self.request.revoke(fingerprint).await
    }

    /// Names this session in its owner's list of devices
    /// ([`ActiveSession::label`](crate::ActiveSession::label)): for example a summary of the
    /// browser's user agent, set on login. Control characters are dropped and the label is
    /// cut to 128 bytes. Saved with the session, like a field.
    ///
    /// ```
    /// use axum::http::{HeaderMap, header::USER_AGENT};
    /// use typed_sessions::Session;
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     name: Option<String>,
    /// }
    ///
    /// async fn login(auth: Session<Auth>, headers: HeaderMap) {
    ///     auth.bind_owner("user-42").expect("1 to 256 bytes");
    ///     let agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    ///     auth.set_device_label(agent.unwrap_or("unknown device"));
    /// }
    /// ```
    pub fn set_device_label(&self, label: &str) {
        self.request.set_device_label(label);
    }

    /// The label [`set_device_label`](Self::set_device_label) gave this session, if any.
    #[must_use]
    pub fn device_label(&self) -> Option<String> {
        self.request.device_label()
    }
}
