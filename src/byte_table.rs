//! Byte-class tables built at compile time, for the scanners that class
//! every byte of a text with one lookup.

/// A `[u8; 256]` whose entry for byte `b` is `$class`, an expression of
/// `b` evaluated at compile time.
///
/// ```ignore
/// static DIGITS: [u8; 256] = byte_table!(|b| b.is_ascii_digit() as u8);
/// ```
macro_rules! byte_table {
    (|$b:ident| $class:expr) => {{
        let mut table = [0u8; 256];
        let mut i = 0;
        while i < 256 {
            let $b = i as u8;
            table[i] = $class;
            i += 1;
        }
        table
    }};
}
