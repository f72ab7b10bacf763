//! Kiosk tokens: how a TV that cannot sign in shows one wall board, and nothing else.

/// A kiosk token as listed (never the token itself, which is shown once when it is made).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KioskToken {
    pub id: i64,
    /// The one board it shows (`/wall/<board>`).
    pub board: String,
    /// What the screen is, in the words of who made it ("lobby TV").
    pub label: String,
    pub created_at: crate::Timestamp,
    /// Who made it (a GitLab username, or `command line`).
    pub created_by: String,
    pub last_used_at: Option<crate::Timestamp>,
    /// The address it was last used from.
    pub last_used_from: Option<String>,
    pub revoked_at: Option<crate::Timestamp>,
}

/// The kiosk tokens, and the boards one can be made for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KioskTokens {
    pub tokens: Vec<KioskToken>,
    pub boards: Vec<String>,
}

/// A kiosk token to make.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KioskTokenRequest {
    pub board: String,
    #[serde(default)]
    pub label: String,
}

/// A kiosk token just made: the token and the address to open on the screen, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewKioskToken {
    pub kiosk: KioskToken,
    pub token: String,
    /// `/wall/<board>?kiosk=<token>`, to open once on the screen (the token then becomes a
    /// cookie and leaves the address).
    pub path: String,
}
