//! Messaging and social-network accounts: `telegram:`, `instagram:`, `tiktok:`, `facebook:`, `x:`.
//!
//! Each network's handle rules and profile-link layout live in one table-like `match` per
//! network. Handles are case-insensitive on every network here, so keys are lower-case.
//! Facebook also ignores dots in user names, so `john.smith` and `johnsmith` are one key.
//! Telegram invite links (`t.me/+abc`, `t.me/joinchat/abc`) name a group rather than a user;
//! their hash is case-sensitive and keys as `telegram:+<hash>` (a handle never starts with `+`).

use crate::domain::Url;
use crate::rejection::{Rejection, RejectionCode};
use crate::types::{Facts, Identifier, Kind};

/// A network whose accounts we key by handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network {
    Telegram,
    Instagram,
    TikTok,
    Facebook,
    X,
}

impl Network {
    /// Every network, in the order ambiguity is reported.
    pub(crate) const ALL: [Network; 5] =
        [Network::Telegram, Network::Instagram, Network::TikTok, Network::Facebook, Network::X];

    /// The identifier kind of this network's accounts.
    pub(crate) fn kind(self) -> Kind {
        match self {
            Network::Telegram => Kind::Telegram,
            Network::Instagram => Kind::Instagram,
            Network::TikTok => Kind::TikTok,
            Network::Facebook => Kind::Facebook,
            Network::X => Kind::X,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Network::Telegram => "Telegram",
            Network::Instagram => "Instagram",
            Network::TikTok => "TikTok",
            Network::Facebook => "Facebook",
            Network::X => "X (Twitter)",
        }
    }

    /// The network a (lower-case, canonical) host belongs to.
    pub(crate) fn for_host(host: &str) -> Option<Network> {
        let host =
            ["www.", "m.", "mobile.", "web.", "touch."].iter().find_map(|p| host.strip_prefix(p)).unwrap_or(host);
        let network = match host {
            "t.me" | "telegram.me" | "telegram.dog" | "telesco.pe" => Network::Telegram,
            _ if host.ends_with(".t.me") => Network::Telegram,
            "instagram.com" | "instagr.am" => Network::Instagram,
            "tiktok.com" => Network::TikTok,
            "facebook.com" | "fb.com" | "fb.me" => Network::Facebook,
            "x.com" | "twitter.com" => Network::X,
            _ => return None,
        };
        Some(network)
    }

    /// Whether `handle` (already lower-case, no `@`) follows the network's rules.
    fn valid_handle(self, handle: &str) -> bool {
        let b = handle.as_bytes();
        let all = |f: fn(&u8) -> bool| b.iter().all(f);
        match self {
            Network::Telegram => {
                (5..=32).contains(&b.len())
                    && b[0].is_ascii_lowercase()
                    && all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
            }
            Network::Instagram => {
                (1..=30).contains(&b.len())
                    && all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.'))
                    && !handle.starts_with('.')
                    && !handle.ends_with('.')
                    && !handle.contains("..")
            }
            Network::TikTok => {
                (2..=24).contains(&b.len())
                    && all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.'))
                    && !handle.ends_with('.')
            }
            Network::Facebook => {
                // Letters, digits and dots; at least 5 characters not counting dots.
                b.iter().filter(|c| **c != b'.').count() >= 5
                    && b.len() <= 50
                    && all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.')
                    && !b.iter().all(|c| c.is_ascii_digit() || *c == b'.')
            }
            Network::X => {
                (1..=15).contains(&b.len()) && all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
            }
        }
    }

    /// What the key holds for a valid handle (Facebook ignores dots).
    fn key_value(self, handle: &str) -> String {
        match self {
            Network::Facebook => handle.chars().filter(|c| *c != '.').collect(),
            _ => handle.to_owned(),
        }
    }
}

/// Whether a bare `@handle` is valid on this network (used to list ambiguity candidates).
pub(crate) fn handle_fits(network: Network, at_handle: &str) -> bool {
    let handle = at_handle.strip_prefix('@').unwrap_or(at_handle).to_ascii_lowercase();
    network.valid_handle(&handle)
}

fn identifier(network: Network, handle: &str, display: String) -> Identifier {
    Identifier::new(network.kind(), &network.key_value(handle), display, Facts::default())
}

fn handle_rejection(network: Network) -> Rejection {
    let rule = match network {
        Network::Telegram => "5 to 32 letters, digits or underscores, starting with a letter",
        Network::Instagram => "up to 30 letters, digits, dots or underscores",
        Network::TikTok => "2 to 24 letters, digits, dots or underscores",
        Network::Facebook => "at least 5 letters, digits or dots",
        Network::X => "up to 15 letters, digits or underscores",
    };
    Rejection::new(RejectionCode::HandleFormat, format!("A {} user name has {rule}.", network.name()))
}

fn not_profile(network: Network) -> Rejection {
    Rejection::new(
        RejectionCode::LinkNotProfile,
        format!("This {} link does not point to an account; copy the link of the profile itself.", network.name()),
    )
}

/// Normalises a handle (`@name` or `name`) for a network the caller stated.
pub(crate) fn parse_handle(s: &str, network: Network) -> Result<Identifier, Rejection> {
    let bare = s.strip_prefix('@').unwrap_or(s).trim();
    if network == Network::Telegram && bare.starts_with('+') && bare.len() > 1 {
        return invite(bare.get(1..).unwrap_or_default(), s);
    }
    let handle = bare.to_ascii_lowercase();
    if !network.valid_handle(&handle) {
        return Err(handle_rejection(network));
    }
    let display = format!("@{handle}");
    Ok(identifier(network, &handle, display))
}

fn invite(hash: &str, display: &str) -> Result<Identifier, Rejection> {
    let ok =
        (10..=64).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(Rejection::new(RejectionCode::HandleFormat, "This Telegram invite link is incomplete."));
    }
    let value = format!("+{hash}");
    Ok(Identifier::new(Kind::Telegram, &value, display.to_owned(), Facts::default()))
}

/// Normalises a profile link on `network`; `display` is the whole link.
pub(crate) fn from_url(network: Network, url: &Url<'_>, display: &str) -> Result<Identifier, Rejection> {
    let mut segments = url.path.split('/').filter(|s| !s.is_empty());
    let first = segments.next().unwrap_or_default();
    let second = segments.next().unwrap_or_default();
    let query = |name: &str| {
        url.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then_some(v)
        })
    };
    let lower = first.to_ascii_lowercase();
    let handle: String = match network {
        Network::Telegram => {
            // `name.t.me` is the same as `t.me/name`.
            let host = url.host.to_ascii_lowercase();
            if let Some(sub) = host.strip_suffix(".t.me").filter(|s| !s.contains('.') && *s != "www") {
                sub.to_owned()
            } else if let Some(hash) = first.strip_prefix('+') {
                return invite(hash, display);
            } else if lower == "joinchat" {
                return invite(second, display);
            } else if lower == "s" {
                second.to_ascii_lowercase()
            } else if matches!(
                lower.as_str(),
                "" | "c"
                    | "share"
                    | "addstickers"
                    | "addemoji"
                    | "addtheme"
                    | "proxy"
                    | "socks"
                    | "iv"
                    | "login"
                    | "setlanguage"
                    | "bg"
                    | "invoice"
                    | "boost"
                    | "contact"
            ) {
                return Err(not_profile(network));
            } else {
                lower
            }
        }
        Network::Instagram => match lower.as_str() {
            "stories" => second.to_ascii_lowercase(),
            "" | "p" | "reel" | "reels" | "tv" | "explore" | "accounts" | "direct" | "about" | "legal"
            | "developer" | "web" | "challenge" => return Err(not_profile(network)),
            _ => lower,
        },
        Network::TikTok => match lower.strip_prefix('@') {
            Some(handle) => handle.to_owned(),
            None => return Err(not_profile(network)),
        },
        Network::Facebook => match lower.as_str() {
            "profile.php" => match query("id").filter(|id| is_numeric_id(id)) {
                Some(id) => return Ok(facebook_id(id, display)),
                None => return Err(not_profile(network)),
            },
            "people" => match segments.next().filter(|id| is_numeric_id(id)) {
                Some(id) => return Ok(facebook_id(id, display)),
                None => return Err(not_profile(network)),
            },
            "pages" => match segments.next().filter(|id| is_numeric_id(id)) {
                Some(id) => return Ok(facebook_id(id, display)),
                None => return Err(not_profile(network)),
            },
            _ if is_numeric_id(&lower) => return Ok(facebook_id(&lower, display)),
            "" | "groups" | "share" | "sharer" | "sharer.php" | "watch" | "events" | "photo" | "photo.php"
            | "story.php" | "permalink.php" | "login" | "login.php" | "marketplace" | "help" | "hashtag" | "reel"
            | "l.php" | "home.php" | "messages" | "search" | "settings" | "privacy" | "policies" | "gaming" => {
                return Err(not_profile(network));
            }
            _ => lower,
        },
        Network::X => match lower.as_str() {
            "" | "home" | "explore" | "search" | "i" | "intent" | "share" | "hashtag" | "settings" | "messages"
            | "notifications" | "login" | "signup" | "tos" | "privacy" | "compose" | "download" => {
                return Err(not_profile(network));
            }
            _ => lower,
        },
    };
    let handle = handle.strip_prefix('@').unwrap_or(&handle);
    if !network.valid_handle(handle) {
        return Err(handle_rejection(network));
    }
    Ok(identifier(network, handle, display.to_owned()))
}

fn is_numeric_id(s: &str) -> bool {
    (5..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A numeric Facebook profile id; user names always contain a letter, so ids never collide.
fn facebook_id(id: &str, display: &str) -> Identifier {
    Identifier::new(Kind::Facebook, id, display.to_owned(), Facts::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::split_url;

    fn url(network: Network, s: &str) -> Result<Identifier, Rejection> {
        from_url(network, &split_url(s).unwrap(), s)
    }

    fn url_key(network: Network, s: &str) -> String {
        url(network, s).unwrap_or_else(|e| panic!("{s}: {e}")).key
    }

    #[test]
    fn telegram_handles_and_links() {
        assert_eq!(parse_handle("@Crypto_Support", Network::Telegram).unwrap().key, "telegram:crypto_support");
        assert_eq!(parse_handle("crypto_support", Network::Telegram).unwrap().display, "@crypto_support");
        for link in [
            "https://t.me/Crypto_Support",
            "t.me/crypto_support",
            "https://telegram.me/crypto_support/",
            "https://t.me/s/crypto_support",
            "https://t.me/crypto_support/1234",
            "https://crypto_support.t.me",
        ] {
            assert_eq!(url_key(Network::Telegram, link), "telegram:crypto_support", "{link}");
        }
        assert_eq!(url_key(Network::Telegram, "https://t.me/+AbCdEfGhIjKl"), "telegram:+AbCdEfGhIjKl");
        assert_eq!(url_key(Network::Telegram, "https://t.me/joinchat/AbCdEfGhIjKl"), "telegram:+AbCdEfGhIjKl");
        assert_eq!(url(Network::Telegram, "https://t.me/c/123/45").unwrap_err().code, RejectionCode::LinkNotProfile);
        assert_eq!(url(Network::Telegram, "https://t.me/").unwrap_err().code, RejectionCode::LinkNotProfile);
        for bad in ["@abc", "@1abcde", "@abc-def", &format!("@{}", "a".repeat(33))] {
            assert_eq!(parse_handle(bad, Network::Telegram).unwrap_err().code, RejectionCode::HandleFormat, "{bad}");
        }
    }

    #[test]
    fn instagram_tiktok_x() {
        assert_eq!(url_key(Network::Instagram, "https://www.instagram.com/Fx.Guru_1/"), "instagram:fx.guru_1");
        assert_eq!(url_key(Network::Instagram, "https://instagram.com/stories/fx.guru_1/123"), "instagram:fx.guru_1");
        assert_eq!(
            url(Network::Instagram, "https://instagram.com/p/Cxyz123").unwrap_err().code,
            RejectionCode::LinkNotProfile
        );
        assert_eq!(url_key(Network::TikTok, "https://www.tiktok.com/@Fx.Guru/video/123"), "tiktok:fx.guru");
        assert_eq!(
            url(Network::TikTok, "https://vm.tiktok.com/ZMabc/").unwrap_err().code,
            RejectionCode::LinkNotProfile
        );
        assert_eq!(url_key(Network::X, "https://twitter.com/ElonMusk_Give/status/1"), "x:elonmusk_give");
        assert_eq!(url_key(Network::X, "https://x.com/elonmusk_give"), "x:elonmusk_give");
        assert_eq!(url(Network::X, "https://x.com/i/web/status/1").unwrap_err().code, RejectionCode::LinkNotProfile);
        assert_eq!(parse_handle("@elonmusk_give", Network::X).unwrap().key, "x:elonmusk_give");
        assert_eq!(parse_handle("@this_is_too_long_for_x", Network::X).unwrap_err().code, RejectionCode::HandleFormat);
        assert_eq!(parse_handle("fx..guru", Network::Instagram).unwrap_err().code, RejectionCode::HandleFormat);
    }

    #[test]
    fn facebook_ignores_dots_and_keys_numeric_ids() {
        assert_eq!(
            url_key(Network::Facebook, "https://www.facebook.com/John.Smith.Invest"),
            "facebook:johnsmithinvest"
        );
        assert_eq!(parse_handle("johnsmithinvest", Network::Facebook).unwrap().key, "facebook:johnsmithinvest");
        assert_eq!(
            url_key(Network::Facebook, "https://m.facebook.com/profile.php?id=100012345678"),
            "facebook:100012345678"
        );
        assert_eq!(
            url_key(Network::Facebook, "https://facebook.com/people/John-Smith/100012345678/"),
            "facebook:100012345678"
        );
        assert_eq!(
            url(Network::Facebook, "https://facebook.com/groups/scamgroup").unwrap_err().code,
            RejectionCode::LinkNotProfile
        );
        assert_eq!(
            url(Network::Facebook, "https://facebook.com/profile.php").unwrap_err().code,
            RejectionCode::LinkNotProfile
        );
    }

    #[test]
    fn hosts_map_to_networks() {
        assert_eq!(Network::for_host("t.me"), Some(Network::Telegram));
        assert_eq!(Network::for_host("www.instagram.com"), Some(Network::Instagram));
        assert_eq!(Network::for_host("mobile.twitter.com"), Some(Network::X));
        assert_eq!(Network::for_host("m.facebook.com"), Some(Network::Facebook));
        assert_eq!(Network::for_host("example.com"), None);
        assert_eq!(Network::for_host("nottwitter.com"), None);
    }

    #[test]
    fn handle_fits_lists_candidates() {
        let fits: Vec<Network> = Network::ALL.into_iter().filter(|n| handle_fits(*n, "@crypto_king")).collect();
        assert_eq!(fits, vec![Network::Telegram, Network::Instagram, Network::TikTok, Network::X]);
    }
}
