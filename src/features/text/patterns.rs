//! Fixed patterns over the canonical text: phone numbers, money promises,
//! crypto wallets, e-mail addresses, @handles, the "wrong number" opener.
//!
//! Customers write order numbers, phone numbers, prices, e-mail addresses
//! and @brand handles all the time, so most of these carry small weights
//! and matter only next to other evidence. Each regex runs only when a
//! cheap byte test says it can match. Word boundaries are ASCII
//! (`(?-u:\b)`): a Unicode boundary stops the lazy DFA at the first emoji
//! and makes the search several times slower.

use std::sync::LazyLock;

use regex::Regex;

/// What the patterns found in one message.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Found<'t> {
    pub phone: Option<&'t str>,
    pub money: Option<&'t str>,
    pub wallet: Option<&'t str>,
    pub email: Option<&'t str>,
    pub handle: Option<&'t str>,
    /// "hi, is this Jessica?": the opener of wrong-number romance and
    /// investment scams.
    pub opener: Option<&'t str>,
}

/// An amount of money: a currency sign or word next to a number.
const AMOUNT: &str = r"(?:[$€£] ?[0-9][0-9,.]* ?k?|[0-9][0-9,.]* ?k? ?(?:\$|€|£|usd|eur|gbp|dollars?|euros?|pounds?|btc|eth|usdt|bitcoins?)(?-u:\b))";

/// Money promised rather than paid: "earn $500", "$300/day", "send $100
/// get $1000 back", "$$$". A price ("charged $49.99 twice") is not.
static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?-u:\b)(?:earn(?:s|ing)?|make|making|profits?|income|paid) +(?:up +to +|over +|about +|around +)?{AMOUNT}|{AMOUNT}(?: ?[-–] ?{AMOUNT})? ?(?:a|an|per|/|every|each)? ?(?:day|daily|week|weekly|hour|hr|month|monthly)(?-u:\b)|(?-u:\b)send +(?:only +|just +)?{AMOUNT}[^.!?\n]{{0,30}}?(?-u:\b)(?:get|receive) +(?:back +)?{AMOUNT}|\${{3,}}"
    ))
    .expect("money pattern compiles")
});

/// A phone number: seven to fifteen digits in groups, or after "+".
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-][0-9]{2,6}){1,4}(?-u:\b)")
        .expect("phone pattern compiles")
});

/// Bitcoin (bech32 and legacy), Ethereum and Tron addresses, lower-cased
/// like the text they are found in.
static WALLET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:bc1[02-9ac-hj-np-z]{25,87}|0x[0-9a-f]{40}|[13][1-9a-z]{25,34}|t[1-9a-z]{33})(?-u:\b)",
    )
    .expect("wallet pattern compiles")
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?-u:\b)")
        .expect("e-mail pattern compiles")
});

static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^a-z0-9_.@/])(@[a-z0-9_.]{2,30})").expect("handle pattern compiles")
});

static OPENER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[^a-z0-9]*(?:hi|hello|hey)[^a-z0-9]+is +this +[a-z]+ *\?")
        .expect("opener pattern compiles")
});

/// Compiles the patterns now rather than on the first message that needs
/// them.
pub(crate) fn warm_up() {
    for re in [&MONEY, &PHONE, &WALLET, &EMAIL, &HANDLE, &OPENER] {
        LazyLock::force(re);
    }
}

/// Runs the patterns whose trigger bytes occur in `text`.
pub(crate) fn scan(text: &str) -> Found<'_> {
    let bytes = text.as_bytes();
    let mut found = Found::default();
    // Trigger tests: digits and trigger bytes counted in one pass over
    // 16-byte lanes (SIMD), and a few probes for a token long enough to be
    // a wallet address: a SIMD search per trigger byte costs more on a DM
    // of a hundred bytes than it saves.
    let (digits, marks) = trigger_bytes(bytes);
    let long_token = has_long_token(bytes, 26);
    let at = marks & AT != 0;
    let money_sign = marks & DOLLAR != 0
        || (marks & CURRENCY_LEAD != 0 && (text.contains('€') || text.contains('£')));
    if money_sign || (digits > 0 && has_currency_word(bytes)) {
        found.money = MONEY.find(text).map(|m| m.as_str());
    }
    if digits >= 7 && has_digit_group(bytes) {
        found.phone = PHONE
            .find_iter(text)
            .map(|m| m.as_str())
            .find(|m| is_phone(m));
    }
    if long_token {
        found.wallet = WALLET
            .find_iter(text)
            .map(|m| m.as_str())
            .find(|m| is_wallet(m));
    }
    if at {
        found.email = EMAIL.find(text).map(|m| m.as_str());
        found.handle = HANDLE
            .captures_iter(text)
            .filter_map(|c| c.get(1))
            .map(|m| m.as_str())
            .find(|h| !found.email.is_some_and(|e| e.contains(h)));
    }
    if text.starts_with(|c: char| !c.is_alphanumeric()) || text.starts_with('h') {
        found.opener = OPENER.find(text).map(|m| m.as_str());
    }
    found
}

const AT: u8 = 1;
const DOLLAR: u8 = 2;
/// A lead byte of `€` (0xE2) or `£` (0xC2).
const CURRENCY_LEAD: u8 = 4;

/// The number of ASCII digits in `bytes`, and which trigger bytes occur.
/// Flat loops of byte-wide sums and ors, which the compiler vectorises 16
/// bytes at a time (written in fixed 16-byte lanes, the same loops were
/// vectorised across the lanes instead, two bytes at a time).
fn trigger_bytes(bytes: &[u8]) -> (usize, u8) {
    let mut digits = 0usize;
    let (mut at, mut dollar, mut lead) = (false, false, false);
    // Byte-wide counts, so that a vector adds 16 at once; 255 bytes at most
    // per count.
    for block in bytes.chunks(255) {
        let mut d = 0u8;
        for &b in block {
            d += u8::from(b.wrapping_sub(b'0') < 10);
            at |= b == b'@';
            dollar |= b == b'$';
            lead |= b == 0xC2 || b == 0xE2;
        }
        digits += usize::from(d);
    }
    let marks =
        (u8::from(at) * AT) | (u8::from(dollar) * DOLLAR) | (u8::from(lead) * CURRENCY_LEAD);
    (digits, marks)
}

/// Whether some run of bytes between spaces and newlines is at least `min`
/// long. Such a run covers one of the positions `min - 1`, `2 min - 1`, …:
/// only the runs around those are measured.
fn has_long_token(bytes: &[u8], min: usize) -> bool {
    let sep = |b: &u8| matches!(b, b' ' | b'\n');
    let mut i = min.max(1) - 1;
    while i < bytes.len() {
        if !sep(&bytes[i]) {
            let start = bytes[..i].iter().rposition(sep).map_or(0, |p| p + 1);
            let end = bytes[i..]
                .iter()
                .position(sep)
                .map_or(bytes.len(), |p| i + p);
            if end - start >= min {
                return true;
            }
        }
        i += min.max(1);
    }
    false
}

/// Whether a digit, one of `" .-"` and a digit follow each other: every
/// [`PHONE`] match has two groups so joined, so a text of unbroken digit runs
/// ("call 09061701461") skips the regex.
fn has_digit_group(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| {
        w[0].is_ascii_digit() && matches!(w[1], b' ' | b'.' | b'-') && w[2].is_ascii_digit()
    })
}

/// Whether a number is followed by a currency word ("0.1 btc", "500 usd").
/// Looked at only where a number ends, so that a message full of order
/// numbers costs one comparison per number.
fn has_currency_word(bytes: &[u8]) -> bool {
    const WORDS: [&[u8]; 8] = [
        b"usd", b"eur", b"gbp", b"dollar", b"pound", b"btc", b"eth", b"bitcoin",
    ];
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(u8::is_ascii_digit) {
        let mut j = i + at;
        while j < bytes.len() && (bytes[j].is_ascii_digit() || matches!(bytes[j], b'.' | b',')) {
            j += 1;
        }
        let mut rest = &bytes[j..];
        if let Some(r) = rest.strip_prefix(b"k") {
            rest = r;
        }
        if let Some(r) = rest.strip_prefix(b" ") {
            rest = r;
        }
        if WORDS.iter().any(|w| rest.starts_with(w)) {
            return true;
        }
        i = j;
    }
    false
}

/// Grouped digits that make a phone number rather than a date, a price or a
/// version: 7 to 15 digits, written with a "+" or in groups.
fn is_phone(m: &str) -> bool {
    let digits = m.bytes().filter(u8::is_ascii_digit).count();
    (7..=15).contains(&digits) && !is_date(m)
}

/// "07.17.2002", "2002-08-16": three groups, one of them a year.
fn is_date(m: &str) -> bool {
    let mut groups = m.split(['.', '-', '/']);
    let parts: [Option<&str>; 4] = std::array::from_fn(|_| groups.next());
    match parts {
        [Some(a), Some(b), Some(c), None] => {
            let year = |g: &str| g.len() == 4 && (g.starts_with("19") || g.starts_with("20"));
            (year(a) || year(c)) && b.len() <= 2
        }
        _ => false,
    }
}

/// A long token that is an address, not a long word: addresses mix many
/// letters and digits.
fn is_wallet(m: &str) -> bool {
    if m.starts_with("bc1") || m.starts_with("0x") {
        return true;
    }
    let digits = m.bytes().filter(u8::is_ascii_digit).count();
    digits >= 4 && m.len() - digits >= 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_matches_have_a_digit_group() {
        // The precondition never hides a number the regex finds.
        for text in [
            "call 0906 170 1461 now",
            "+44 7911 123456",
            "(555) 123-4567",
            "555.123.4567",
            "ring 09061701461",
            "1-800-555-0199",
            "order 1234567 and 89",
        ] {
            let found = PHONE.find(text).is_some();
            assert!(!found || has_digit_group(text.as_bytes()), "{text:?}");
            assert_eq!(has_digit_group(text.as_bytes()), found, "{text:?}");
        }
    }

    #[test]
    fn long_tokens_are_found_wherever_they_sit() {
        // Against the plain definition: the longest run between spaces or
        // newlines, for every length and offset around the probe stride.
        for len in 0..60 {
            for at in 0..40 {
                let mut text = "ab cd\nef ".repeat(8).into_bytes();
                text.truncate(at);
                text.push(b' ');
                text.extend(std::iter::repeat_n(b'x', len));
                text.extend_from_slice(b" tail\nend");
                let longest = text
                    .split(|b| matches!(b, b' ' | b'\n'))
                    .map(<[u8]>::len)
                    .max()
                    .unwrap_or(0);
                assert_eq!(has_long_token(&text, 26), longest >= 26, "{len} at {at}");
            }
        }
        assert!(!has_long_token(b"", 26));
        // Trigger bytes against their plain definition, across vector
        // edges and the byte-wide counts' blocks of 255.
        let mark = |b: u8| match b {
            b'@' => AT,
            b'$' => DOLLAR,
            0xC2 | 0xE2 => CURRENCY_LEAD,
            _ => 0,
        };
        let text = "a1@b$ 22 £ c€ 9".repeat(40);
        for end in 0..text.len() {
            let b = &text.as_bytes()[..end];
            let digits = b.iter().filter(|b| b.is_ascii_digit()).count();
            let marks = b.iter().fold(0, |a, &x| a | mark(x));
            assert_eq!(trigger_bytes(b), (digits, marks), "{end}");
        }
        assert_eq!(trigger_bytes(&[b'7'; 600]), (600, 0));
        assert!(has_long_token(&[b'a'; 26], 26));
        assert!(!has_long_token(&[b'a'; 25], 26));
    }

    #[test]
    fn money_promises_but_not_prices() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "earn_per_day",
                "work from home and earn $500 a day",
                Some("earn $500"),
            ),
            (
                "range_per_day",
                "earn $50-$300/day by liking videos",
                Some("earn $50"),
            ),
            ("per_month", "$3,200/month + bonus", Some("$3,200/month")),
            (
                "send_get",
                "send $100 get $1000 back!!",
                Some("send $100 get $1000"),
            ),
            (
                "send_btc",
                "send 0.1 btc and receive 0.2 btc back",
                Some("send 0.1 btc and receive 0.2 btc"),
            ),
            ("dollar_signs", "earn $$$ daily", Some("$$$")),
            (
                "charged_twice",
                "i was charged $49.99 twice for the same order",
                None,
            ),
            ("refund", "waiting for a refund of £120. ridiculous", None),
            ("bulk_order", "business order ~$2,400 for 60 units", None),
            (
                "free_shipping",
                "my cart is over £50. is the offer on?",
                None,
            ),
        ];
        for &(name, text, want) in cases {
            assert_eq!(scan(text).money.map(str::trim), want, "{name}");
        }
    }

    #[test]
    fn phones_wallets_emails_handles() {
        let f = scan("my correct phone is +44 7700 900123, order 771204. thanks");
        assert_eq!(f.phone, Some("+44 7700 900123"));
        assert_eq!(
            scan("order 100238447 and tracking 1z999aa10123456784").phone,
            None
        );
        assert_eq!(
            scan("call now 1-800-555-0199").phone,
            Some("1-800-555-0199")
        );

        let btc = "send to bc1q9h7garjm5r8w6sy4f0d3lk2n5x8c7vt4qz6pa3 now";
        assert!(scan(btc).wallet.is_some_and(|w| w.starts_with("bc1q")));
        let eth = "gas fee to 0x7a1c9e2b4f0d83e5a6c1b9f2d04e7a8c3b5d6e91 to unlock";
        assert!(scan(eth).wallet.is_some());
        assert_eq!(
            scan("tracking number 1z999aa10123456784 shows").wallet,
            None
        );
        assert_eq!(
            scan("https://shop.brand.example/products/linen-shirt-blue").wallet,
            None
        );

        let f = scan("i emailed support@brand.example and @brand_help");
        assert_eq!(f.email, Some("support@brand.example"));
        assert_eq!(f.handle, Some("@brand_help"));
        assert_eq!(scan("mail me at a@b.example").handle, None);
    }

    #[test]
    fn wrong_number_opener() {
        assert!(
            scan("hi is this jessica? we met last week")
                .opener
                .is_some()
        );
        assert!(scan("hello, is this anna ?").opener.is_some());
        assert!(scan("hi is this the right place to ask?").opener.is_none());
        assert!(scan("my order, is this normal?").opener.is_none());
    }
}
