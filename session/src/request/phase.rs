//! The phases of a request's session, as enums rather than flags: where the request is
//! with it ([`Phase`], and how a handler ended it, [`Ending`]), and whether a live record is
//! it ([`Stored`]).

/// Where a request is with its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The session the request came with, or a fresh one, is in use.
    Open,
    /// The handler ended the session the client came with.
    Ended(Ending),
    /// The request was refused before its handler ran (a failed CSRF check), or its login
    /// went over the owner's session limit: nothing is written, not even a refresh, and no
    /// cookie is sent.
    Refused,
}

/// Whether a live record is the session: none yet, this one, or none any more because
/// another request deleted or rotated it first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stored<L> {
    Nothing,
    Live(L),
    /// Ended by another request: no cookie at all is sent.
    Gone,
}

impl<L: Copy> Stored<L> {
    pub(super) fn live(&self) -> Option<L> {
        match self {
            Self::Live(live) => Some(*live),
            Self::Nothing | Self::Gone => None,
        }
    }
}

/// How a handler ended the session the client came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// `invalidate()`: a fresh session goes on, saved like any new one.
    Invalidated,
    /// `delete()`: nothing more is saved in this request.
    Deleted,
}
