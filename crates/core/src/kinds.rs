//! The closed vocabularies of a report: category, contact channel, payment method, identifier
//! role, age band (the kind hint is normalize's `KindHint`). Each has a stable lower-case name, which is what the store keeps,
//! so that the database reads the same to a person as the API does.

/// A name that is not in a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} name {name:?}")]
pub struct UnknownName {
    /// Which vocabulary was asked.
    pub vocabulary: &'static str,
    /// The name that was not found.
    pub name: String,
}

/// Declares a vocabulary: an enum with a stable name per variant, `ALL`, `as_str` and `FromStr`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $label:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable name, as stored.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::UnknownName { vocabulary: $label, name: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// Lets other modules (`triage`) declare their vocabularies the same way.
pub(crate) use vocabulary;

vocabulary!(
    /// The kind of scam.
    Category, "category" {
        /// Investment or trading platform fraud.
        Investment = "investment",
        /// Crypto-asset investment fraud.
        CryptoInvestment = "crypto_investment",
        /// Fake technical support.
        TechSupport = "tech_support",
        /// Refund or overpayment fraud.
        Refund = "refund",
        /// Romance fraud.
        Romance = "romance",
        /// Online shopping fraud.
        Shopping = "shopping",
        /// Advance-fee fraud.
        AdvanceFee = "advance_fee",
        /// Impersonation of a bank, the police or an authority.
        Impersonation = "impersonation",
        /// Recovery scam.
        Recovery = "recovery",
        /// Task or job scam.
        Task = "task",
        /// Sextortion.
        Sextortion = "sextortion",
        /// Anything else.
        Other = "other",
    }
);

impl Category {
    /// The category's bit in a set of categories kept as one integer (an identifier's
    /// `category_mask`): its position in [`Category::ALL`]. Stored masks depend on it, so new
    /// categories are only ever appended.
    pub fn bit(self) -> i64 {
        1 << (self as u32)
    }

    /// The categories of a mask, in declaration order; unknown bits are ignored.
    pub fn from_mask(mask: i64) -> Vec<Category> {
        Self::ALL.iter().copied().filter(|c| mask & c.bit() != 0).collect()
    }
}

vocabulary!(
    /// How the scammers made contact.
    ContactChannel, "contact channel" {
        /// A voice call.
        PhoneCall = "phone_call",
        /// A text message.
        Sms = "sms",
        /// WhatsApp.
        WhatsApp = "whatsapp",
        /// Telegram.
        Telegram = "telegram",
        /// A social-media advertisement.
        SocialMediaAd = "social_media_ad",
        /// A website.
        Website = "website",
        /// E-mail.
        Email = "email",
        /// A browser pop-up.
        Popup = "popup",
    }
);

vocabulary!(
    /// How the victim paid.
    PaymentMethod, "payment method" {
        /// An ordinary bank transfer.
        BankTransfer = "bank_transfer",
        /// An instant bank transfer.
        InstantTransfer = "instant_transfer",
        /// A payment card.
        Card = "card",
        /// A crypto-asset transfer.
        Crypto = "crypto",
        /// Gift cards or vouchers.
        GiftCard = "gift_card",
        /// A money-transfer service.
        MoneyTransferService = "money_transfer_service",
        /// Cash.
        Cash = "cash",
    }
);

vocabulary!(
    /// The part an identifier played on the scammers' side.
    IdentifierRole, "identifier role" {
        /// Received the victim's money.
        BeneficiaryAccount = "beneficiary_account",
        /// Called or texted the victim.
        CallerNumber = "caller_number",
        /// A website the scammers used.
        Website = "website",
        /// A crypto wallet the scammers used.
        Wallet = "wallet",
        /// An e-mail address the scammers used.
        Email = "email",
        /// A messaging or social-media handle.
        MessagingHandle = "messaging_handle",
        /// Any other scammer-side identifier.
        Other = "other",
    }
);

vocabulary!(
    /// The victim's age band.
    AgeBand, "age band" {
        /// Under 18.
        Under18 = "under_18",
        /// 18 to 29.
        From18To29 = "18_to_29",
        /// 30 to 49.
        From30To49 = "30_to_49",
        /// 50 to 69.
        From50To69 = "50_to_69",
        /// 70 or older.
        From70 = "70_plus",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Copy + PartialEq + std::fmt::Debug + std::str::FromStr>(
        all: &[T],
        name: impl Fn(T) -> &'static str,
    ) {
        for &value in all {
            assert_eq!(name(value).parse::<T>().ok(), Some(value));
        }
    }

    #[test]
    fn every_stored_name_parses_back() {
        round_trips(Category::ALL, Category::as_str);
        round_trips(ContactChannel::ALL, ContactChannel::as_str);
        round_trips(PaymentMethod::ALL, PaymentMethod::as_str);
        round_trips(IdentifierRole::ALL, IdentifierRole::as_str);
        round_trips(AgeBand::ALL, AgeBand::as_str);
    }

    #[test]
    fn category_masks_hold_sets_of_categories() {
        assert!(Category::ALL.len() < 63, "a mask is a signed 64-bit integer");
        assert_eq!((Category::Investment.bit(), Category::CryptoInvestment.bit()), (1, 2));
        let bits: std::collections::BTreeSet<i64> = Category::ALL.iter().map(|c| c.bit()).collect();
        assert_eq!(bits.len(), Category::ALL.len(), "every category has a bit of its own");
        let mask = Category::Romance.bit() | Category::Other.bit() | Category::Investment.bit();
        assert_eq!(Category::from_mask(mask), vec![Category::Investment, Category::Romance, Category::Other]);
        assert_eq!(Category::from_mask(0), vec![]);
    }

    #[test]
    fn unknown_names_are_refused_with_the_vocabulary() {
        let err = "ponzi".parse::<Category>().unwrap_err();
        assert_eq!(err.vocabulary, "category");
        assert_eq!(err.name, "ponzi");
    }
}
