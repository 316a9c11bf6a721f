//! Links: decides whether a URL names a social-network account, a WhatsApp number, a site on a
//! shared host or a web site, and hands it to that kind's normaliser. The display form is the
//! whole refanged link.

use crate::domain::{self, split_url};
use crate::rejection::{Rejection, RejectionCode};
use crate::shared_host::SharedHosts;
use crate::social::{self, Network};
use crate::types::Identifier;
use crate::whatsapp;

/// Normalises any link or host: social profile, WhatsApp number, site on a shared host or web site.
pub(crate) fn parse(s: &str, shared: &SharedHosts) -> Result<Identifier, Rejection> {
    let refanged = domain::refang(s);
    let Some(url) = split_url(&refanged) else {
        return domain::parse(s);
    };
    let host = url.host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(network) = Network::for_host(&host) {
        return social::from_url(network, &url, &refanged);
    }
    if whatsapp::is_host(&host) {
        return whatsapp::from_url(&url, &refanged);
    }
    if let Some(site) = shared.key(&host, &url, &refanged) {
        return site;
    }
    domain::parse(s)
}

/// Whether a value written for a social network is a link rather than a handle.
fn is_link(s: &str) -> bool {
    s.contains('/')
        || s.contains("://")
        || (s.contains('.') && !s.starts_with('@') && {
            let host = s.split('/').next().unwrap_or_default().to_ascii_lowercase();
            Network::for_host(&host).is_some()
        })
}

/// Normalises a handle or profile link for the network the victim named.
pub(crate) fn parse_for_network(s: &str, network: Network) -> Result<Identifier, Rejection> {
    if network == Network::Telegram
        && let Some(rest) = crate::text::strip_prefix_ci(s, "tg://resolve?")
    {
        let domain = rest.split('&').find_map(|p| p.strip_prefix("domain=")).unwrap_or_default();
        return social::parse_handle(domain, network);
    }
    if !is_link(s) {
        return social::parse_handle(s, network);
    }
    let refanged = domain::refang(s);
    let Some(url) = split_url(&refanged) else {
        return social::parse_handle(s, network);
    };
    let host = url.host.trim_end_matches('.').to_ascii_lowercase();
    match Network::for_host(&host) {
        Some(found) if found == network => social::from_url(network, &url, &refanged),
        _ => Err(Rejection::new(
            RejectionCode::LinkNotProfile,
            "This link goes to a different site than the one chosen; enter the user name or the profile link.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Kind;

    fn parse(s: &str) -> Result<Identifier, Rejection> {
        super::parse(s, &SharedHosts::shipped())
    }

    #[test]
    fn links_route_by_host() {
        assert_eq!(parse("https://t.me/crypto_support").unwrap().kind, Kind::Telegram);
        assert_eq!(parse("hxxps://wa[.]me/447400123456").unwrap().key, "tel:+447400123456");
        assert_eq!(parse("https://www.instagram.com/fx.guru/").unwrap().key, "instagram:fx.guru");
        assert_eq!(parse("https://trade-fx.co.uk/x").unwrap().key, "domain:trade-fx.co.uk");
        assert_eq!(parse("instagram.com/fx.guru").unwrap().key, "instagram:fx.guru");
        assert_eq!(parse("https://bit.ly/3xyzAbc").unwrap().key, "url:bit.ly/3xyzAbc");
        assert_eq!(
            parse("https://sites.google.com/view/cryptogains-pro").unwrap().key,
            "url:sites.google.com/view/cryptogains-pro"
        );
    }

    #[test]
    fn network_hint_takes_handles_links_and_refuses_other_sites() {
        assert_eq!(parse_for_network("@Fx.Guru", Network::Instagram).unwrap().key, "instagram:fx.guru");
        assert_eq!(parse_for_network("instagram.com/fx.guru", Network::Instagram).unwrap().key, "instagram:fx.guru");
        assert_eq!(
            parse_for_network("tg://resolve?domain=crypto_support", Network::Telegram).unwrap().key,
            "telegram:crypto_support"
        );
        assert_eq!(
            parse_for_network("https://www.tiktok.com/@fx.guru", Network::Instagram).unwrap_err().code,
            RejectionCode::LinkNotProfile
        );
    }
}
