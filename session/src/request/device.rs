//! A device-bound session ([`crate::dbsc`]) arriving: admitted only with a valid bound
//! cookie; and the offer to bind one, made on login. What is kept and checked is in
//! `device/`; the endpoints that register and refresh a binding are in `dbsc/`.

use super::RequestSession;
use super::arrival::Live;
use crate::device::state::{Device, DeviceSlot};
use crate::device::{Unproven, registration_header};
use crate::error::Error;
use crate::time::unix_ms;
use http::HeaderMap;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

impl RequestSession {
    /// `live`, if it may serve this request: not bound to a device, or bound and proven by
    /// a valid bound cookie (or asked for by a DBSC endpoint, which proves it its own way).
    /// Unproven, it is refused, or (`Unproven::NewVisitor`) not used: the request starts
    /// afresh, and the session stays as it was for its own device.
    pub(super) fn admit_device(
        &self,
        headers: &HeaderMap,
        live: Option<Live>,
        now: SystemTime,
    ) -> Result<Option<Live>, Error> {
        let (Some(settings), Some(arrived)) = (&self.config.device_binding, &live) else {
            return Ok(live);
        };
        if self.device_exempt.load(Ordering::Relaxed) {
            return Ok(live);
        }
        let device = Device::of(&arrived.record);
        if device.bound().is_none() {
            return Ok(live);
        }
        let name = &settings.cookie.name;
        let values = crate::cookie::cookie_values(name, headers);
        if crate::device::proven(settings, &device, values, now) {
            return Ok(live);
        }
        let grace_ms = u64::try_from(settings.binding.registration_grace.as_millis());
        if crate::cookie::cookie_values(name, headers).next().is_none()
            && device.registering(unix_ms(now), grace_ms.unwrap_or(u64::MAX))
        {
            // Sent while the browser registered, before its first bound cookie came.
            return Ok(live);
        }
        // A browser that did not refresh says why (`quota_exceeded`, `unreachable`, ...).
        let skipped = headers.get("secure-session-skipped");
        tracing::debug!(
            ?skipped,
            "a device-bound session came without a valid bound cookie"
        );
        match settings.binding.unproven {
            Unproven::Refuse => Err(Error::DeviceNotProven),
            Unproven::NewVisitor => Ok(None),
        }
    }

    /// Marks this request as a DBSC endpoint's: its session is loaded without a bound
    /// cookie.
    pub(crate) fn exempt_from_device_proof(&self) {
        self.device_exempt.store(true, Ordering::Relaxed);
    }

    /// Offers the browser to bind the session to a key of its device: a challenge kept in
    /// the record, and the registration header on the response. Nothing without a
    /// [`DeviceBinding`](crate::device::DeviceBinding) on the layer.
    pub(crate) fn offer_device_binding(&self) {
        let Some(settings) = &self.config.device_binding else {
            return;
        };
        let now = SystemTime::now();
        let challenge = crate::device::random_token();
        let Some(header) = registration_header(&settings.binding.registration_path, &challenge)
        else {
            return;
        };
        let expires_ms = unix_ms(now + settings.binding.challenge_lifetime);
        self.fields::<DeviceSlot>().update(0, move |slot| {
            slot.device.offer(&challenge, expires_ms, unix_ms(now));
        });
        let _ = self.device_offer.set(header);
    }

    /// The registration header to send, if the session was offered a binding.
    pub(crate) fn device_offer(&self) -> Option<&http::HeaderValue> {
        self.device_offer.get()
    }

    /// Whether the session is bound to its device (and so, having arrived, proven).
    pub(crate) fn is_device_bound(&self) -> bool {
        self.config.device_binding.is_some() && Device::of(&self.lock().base).bound().is_some()
    }
}
