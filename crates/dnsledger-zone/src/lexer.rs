//! Master-file lexing (RFC 1035 section 5.1): lines into entries.
//!
//! An entry is one directive or one record. Parentheses continue it over line breaks;
//! `;` starts a comment up to the end of the line; `"..."` is one token that may hold
//! blanks; a backslash escapes the next character (`\DDD` escapes are left for the name and
//! rdata readers, which decode them). Each entry keeps its text with comments, grouping
//! parentheses and line breaks turned into blanks, so that the rdata can be handed as it was
//! written (quotes, escapes and `key="value"` gluing intact) to the wire crate's scanner.

/// Longest entry kept, in bytes: the text of the largest rdata (65535 bytes, as `\DDD`
/// escapes) with room to spare. Longer entries are reported, not held.
pub(crate) const MAX_ENTRY_LEN: usize = 1 << 20;

/// One directive or record, as written.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The line where the entry starts.
    pub(crate) line: u64,
    /// The entry starts with a blank: it names no owner (the previous one applies).
    pub(crate) leading_blank: bool,
    text: String,
    tokens: Vec<Span>,
}

/// Where a token lies in the entry's text; a quoted token includes its quotes.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    quoted: bool,
}

/// A token's text (without quotes for a quoted one; escapes kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) text: &'a str,
    pub(crate) quoted: bool,
}

impl Entry {
    pub(crate) fn token(&self, index: usize) -> Option<Token<'_>> {
        let span = self.tokens.get(index)?;
        let text = match span.quoted {
            true => self.text.get(span.start + 1..span.end - 1)?,
            false => self.text.get(span.start..span.end)?,
        };
        Some(Token {
            text,
            quoted: span.quoted,
        })
    }

    /// The text from token `index` to the end, as written (empty past the last token).
    pub(crate) fn rest_from(&self, index: usize) -> &str {
        self.tokens
            .get(index)
            .and_then(|span| self.text.get(span.start..))
            .map_or("", str::trim_end)
    }
}

/// Why an entry could not be lexed; the lexer has dropped it and goes on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LexError {
    pub(crate) line: u64,
    pub(crate) message: &'static str,
}

/// Turns lines into entries. Feed every line with [`Lexer::line`], then call
/// [`Lexer::end`] once.
#[derive(Debug, Default)]
pub(crate) struct Lexer {
    text: Vec<u8>,
    tokens: Vec<Span>,
    /// Open parentheses of the entry being read.
    depth: usize,
    /// The line where the entry being read starts; `None` between entries.
    start: Option<u64>,
    leading_blank: bool,
    /// The first problem of the entry being read: it is reported when the entry ends.
    problem: Option<&'static str>,
}

impl Lexer {
    /// Reads one line (without its line break). Returns the entry it completes, if any.
    pub(crate) fn line(&mut self, number: u64, line: &[u8]) -> Result<Option<Entry>, LexError> {
        if self.start.is_none() {
            self.start = Some(number);
            self.leading_blank = matches!(line.first(), Some(b' ' | b'\t'));
        }
        if let Err(message) = self.lex(line) {
            self.problem.get_or_insert(message);
            // After a broken quote or escape the parentheses are unknowable: the entry ends
            // with this line.
            self.depth = 0;
        }
        if self.depth > 0 {
            self.push_blank();
            return Ok(None);
        }
        self.take()
    }

    /// Ends the input. Every complete entry has been returned by [`Lexer::line`]; one still
    /// open (parentheses not closed, or after an overlong line) is an error.
    pub(crate) fn end(&mut self) -> Result<(), LexError> {
        if self.start.is_none() {
            return Ok(());
        }
        if self.depth > 0 {
            self.problem
                .get_or_insert("parenthesis not closed before the end of the file");
        }
        self.take().map(|_| ())
    }

    /// Reports a line that was too long to read: the entry it belongs to is dropped.
    pub(crate) fn overlong_line(&mut self, number: u64) {
        self.start.get_or_insert(number);
        self.problem.get_or_insert("line too long");
    }

    /// The finished entry (or its problem), leaving the lexer ready for the next one.
    fn take(&mut self) -> Result<Option<Entry>, LexError> {
        let line = self.start.take().unwrap_or_default();
        let text = std::mem::take(&mut self.text);
        let tokens = std::mem::take(&mut self.tokens);
        self.depth = 0;
        if let Some(message) = self.problem.take() {
            return Err(LexError { line, message });
        }
        if tokens.is_empty() {
            return Ok(None);
        }
        let text = String::from_utf8(text).map_err(|_| LexError {
            line,
            message: "text that is not UTF-8",
        })?;
        Ok(Some(Entry {
            line,
            leading_blank: self.leading_blank,
            text,
            tokens,
        }))
    }

    fn lex(&mut self, line: &[u8]) -> Result<(), &'static str> {
        let mut i = 0usize;
        while let Some(&c) = line.get(i) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    self.push_blank();
                    i += 1;
                }
                b';' => break,
                b'(' => {
                    self.depth += 1;
                    self.push_blank();
                    i += 1;
                }
                b')' => {
                    self.depth = self.depth.checked_sub(1).ok_or("unbalanced ')'")?;
                    self.push_blank();
                    i += 1;
                }
                b'"' => {
                    let end = token_end(line, i + 1, |c| c == b'"')?;
                    if line.get(end) != Some(&b'"') {
                        return Err("quoted string not closed on its line");
                    }
                    self.push_token(line.get(i..=end).unwrap_or_default(), true);
                    i = end + 1;
                }
                _ => {
                    let end = token_end(line, i, |c| {
                        matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"')
                    })?;
                    self.push_token(line.get(i..end).unwrap_or_default(), false);
                    i = end;
                }
            }
        }
        Ok(())
    }

    fn push_blank(&mut self) {
        if self.text.len() < MAX_ENTRY_LEN {
            self.text.push(b' ');
        }
    }

    /// Keeps a token, unless the entry has grown too long: then the entry is only followed
    /// to its end (its parentheses still count) and reported there.
    fn push_token(&mut self, bytes: &[u8], quoted: bool) {
        if self.text.len() + bytes.len() >= MAX_ENTRY_LEN {
            self.problem.get_or_insert("entry too long");
            return;
        }
        let start = self.text.len();
        self.text.extend_from_slice(bytes);
        self.tokens.push(Span {
            start,
            end: self.text.len(),
            quoted,
        });
    }
}

/// The index of the first unescaped byte at or after `i` that `stop` accepts, or the end
/// of the line. A backslash takes the next byte with it, so token boundaries are always
/// ASCII bytes and slicing the text there keeps it valid UTF-8.
fn token_end(line: &[u8], mut i: usize, stop: impl Fn(u8) -> bool) -> Result<usize, &'static str> {
    while let Some(&c) = line.get(i) {
        if c == b'\\' {
            if i + 1 >= line.len() {
                return Err("backslash at the end of a line");
            }
            i += 2;
        } else if stop(c) {
            break;
        } else {
            i += 1;
        }
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry as (line, leading blank, tokens).
    type Lexed = (u64, bool, Vec<String>);

    /// Every entry of `input`, or its error.
    fn lex(input: &str) -> Vec<Result<Lexed, LexError>> {
        let mut lexer = Lexer::default();
        let mut out = Vec::new();
        for (n, line) in input.split('\n').enumerate() {
            out.extend(lexer.line(n as u64 + 1, line.as_bytes()).transpose());
        }
        if let Err(error) = lexer.end() {
            out.push(Err(error));
        }
        out.into_iter()
            .map(|r| {
                r.map(|e| {
                    let tokens = (0..e.tokens.len())
                        .map(|i| e.token(i).unwrap().text.to_string())
                        .collect();
                    (e.line, e.leading_blank, tokens)
                })
            })
            .collect()
    }

    fn ok(line: u64, blank: bool, tokens: &[&str]) -> Result<Lexed, LexError> {
        Ok((line, blank, tokens.iter().map(|t| t.to_string()).collect()))
    }

    #[test]
    fn entries_span_parentheses_and_skip_comments() {
        let input = "; comment only\n\
                     @ IN SOA ns1 host ( 1 ; serial\n\
                     \t2 3 ) ; end\n\
                     \n\
                     \tA 192.0.2.1\n\
                     txt TXT \"a ; b\" \"c\\\"d\"";
        assert_eq!(
            lex(input),
            vec![
                ok(2, false, &["@", "IN", "SOA", "ns1", "host", "1", "2", "3"]),
                ok(5, true, &["A", "192.0.2.1"]),
                ok(6, false, &["txt", "TXT", "a ; b", "c\\\"d"]),
            ]
        );
    }

    #[test]
    fn the_rest_of_an_entry_keeps_quotes_escapes_and_gluing() {
        let mut lexer = Lexer::default();
        let entry = lexer
            .line(1, br#"svc SVCB 1 . ( alpn="h2,h3" ) ; c"#)
            .unwrap()
            .unwrap();
        assert_eq!(entry.rest_from(2), r#"1 .   alpn="h2,h3""#);
        assert_eq!(entry.rest_from(9), "");
        assert_eq!(
            entry.token(5),
            Some(Token {
                text: "h2,h3",
                quoted: true
            })
        );
    }

    #[test]
    fn broken_entries_are_reported_at_their_first_line_and_dropped() {
        let errors = |input: &str| -> Vec<(u64, &'static str)> {
            lex(input)
                .into_iter()
                .filter_map(|r| r.err().map(|e| (e.line, e.message)))
                .collect()
        };
        assert_eq!(errors("a A 1 )"), vec![(1, "unbalanced ')'")]);
        assert_eq!(
            errors("ok A 1\nbad TXT \"open\nnext A 2"),
            vec![(2, "quoted string not closed on its line")]
        );
        assert_eq!(
            errors("x SOA ( 1\n2"),
            vec![(1, "parenthesis not closed before the end of the file")]
        );
        assert_eq!(
            errors("x TXT a\\"),
            vec![(1, "backslash at the end of a line")]
        );
        let mut lexer = Lexer::default();
        assert_eq!(
            lexer.line(1, b"x TXT \"\xff\"").unwrap_err().message,
            "text that is not UTF-8"
        );
        lexer.overlong_line(7);
        assert_eq!(lexer.line(8, b"").unwrap_err().line, 7);
        assert!(lexer.line(9, b"fine A 1").unwrap().is_some());
    }

    #[test]
    fn an_entry_longer_than_the_bound_is_refused() {
        let mut lexer = Lexer::default();
        let long = vec![b'a'; 4096];
        lexer.line(1, b"(").unwrap();
        for n in 2..(MAX_ENTRY_LEN / 4096 + 3) as u64 {
            assert!(lexer.line(n, &long).unwrap().is_none());
        }
        assert!(lexer.text.len() <= MAX_ENTRY_LEN);
        assert_eq!(
            lexer.line(999_999, b")").unwrap_err().message,
            "entry too long"
        );
        assert!(lexer.text.is_empty());
    }
}
