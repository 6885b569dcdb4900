//! The selector text grammar of apimachinery's `labels.Parse`, token for token.
//!
//! ```text
//! selector    ::= "" | requirement ("," requirement)*
//! requirement ::= "!" KEY | KEY
//!               | KEY ("in" | "notin") "(" values ")"
//!               | KEY ("=" | "==" | "!=" | ">" | "<") VALUE?
//! values      ::= VALUE? ("," VALUE?)*
//! ```
//!
//! Tokens are separated by space, tab, CR and LF; `=`, `!`, `(`, `)`, `,`, `>`, `<` are symbols (`==` and
//! `!=` the only two-byte ones) and every other run of bytes is an identifier. `in` and `notin` are operators
//! only right after a key; elsewhere they are ordinary identifiers, so `in in (in)` is valid. Apimachinery
//! quirks kept on purpose: `x in ()` and `x in (,)` mean the value set `{""}`, and `x=` means the value `""`.
//! One deliberate difference: a NUL byte is refused, where apimachinery's lexer would take it for the end of
//! the text.

use super::{Operator, Requirement, Selector, SelectorError};

/// One token of selector text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'t> {
    /// The end of the text.
    End,
    /// `,`
    Comma,
    /// `(`
    Open,
    /// `)`
    Close,
    /// `!`
    Not,
    /// `=`
    Equals,
    /// `==`
    DoubleEquals,
    /// `!=`
    NotEquals,
    /// `>`
    Greater,
    /// `<`
    Less,
    /// Any other run of bytes (keys, values, and the words `in` / `notin`).
    Ident(&'t str),
}

impl<'t> Token<'t> {
    /// The token's text, as apimachinery's error messages quote it (empty at the end).
    fn literal(self) -> &'t str {
        match self {
            Token::End => "",
            Token::Comma => ",",
            Token::Open => "(",
            Token::Close => ")",
            Token::Not => "!",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::NotEquals => "!=",
            Token::Greater => ">",
            Token::Less => "<",
            Token::Ident(text) => text,
        }
    }

    /// Whether a requirement may start with this token.
    fn starts_requirement(self) -> bool {
        matches!(self, Token::Ident(_) | Token::Not)
    }
}

/// Whether the byte separates tokens without being one.
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Whether the byte is (the start of) a symbol token.
fn is_symbol(byte: u8) -> bool {
    matches!(byte, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits selector text into tokens, one at a time, with one token of look-ahead.
struct Parser<'t> {
    text: &'t str,
    position: usize,
    peeked: Option<Token<'t>>,
}

impl<'t> Parser<'t> {
    /// Lexes the next token from the text (`Lexer.Lex`).
    fn lex(&mut self) -> Token<'t> {
        let bytes = self.text.as_bytes();
        while bytes.get(self.position).copied().is_some_and(is_whitespace) {
            self.position += 1;
        }
        let Some(&first) = bytes.get(self.position) else {
            return Token::End;
        };
        let start = self.position;
        if is_symbol(first) {
            let second = bytes.get(start + 1).copied();
            let (token, len) = match (first, second) {
                (b'=', Some(b'=')) => (Token::DoubleEquals, 2),
                (b'!', Some(b'=')) => (Token::NotEquals, 2),
                (b'=', _) => (Token::Equals, 1),
                (b'!', _) => (Token::Not, 1),
                (b'(', _) => (Token::Open, 1),
                (b')', _) => (Token::Close, 1),
                (b',', _) => (Token::Comma, 1),
                (b'>', _) => (Token::Greater, 1),
                _ => (Token::Less, 1),
            };
            self.position += len;
            return token;
        }
        while bytes
            .get(self.position)
            .is_some_and(|&b| !is_symbol(b) && !is_whitespace(b))
        {
            self.position += 1;
        }
        // Both ends sit next to ASCII bytes or at the ends of the text, so they are character boundaries.
        Token::Ident(&self.text[start..self.position])
    }

    /// The next token, without consuming it.
    fn peek(&mut self) -> Token<'t> {
        match self.peeked {
            Some(token) => token,
            None => {
                let token = self.lex();
                self.peeked = Some(token);
                token
            }
        }
    }

    /// The next token, consumed.
    fn next(&mut self) -> Token<'t> {
        match self.peeked.take() {
            Some(token) => token,
            None => self.lex(),
        }
    }

    /// `requirement ("," requirement)*` or nothing, then the end of the text.
    fn selector(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        let first = self.peek();
        if first == Token::End {
            return Ok(requirements);
        }
        if !first.starts_requirement() {
            return Err(unexpected(first, "!, identifier, or 'end of string'"));
        }
        loop {
            let requirement = self
                .requirement()
                .map_err(|error| SelectorError::Requirement(Box::new(error)))?;
            requirements.push(requirement);
            match self.next() {
                Token::End => return Ok(requirements),
                Token::Comma => {
                    let after = self.peek();
                    if !after.starts_requirement() {
                        return Err(unexpected(after, "identifier after ','"));
                    }
                }
                other => return Err(unexpected(other, "',' or 'end of string'")),
            }
        }
    }

    /// One requirement (`parseRequirement`). After `!key` nothing more is read: a following operator is then
    /// refused by [`Parser::selector`], as in apimachinery (`!x=a` is an error).
    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let mut token = self.next();
        let negated = token == Token::Not;
        if negated {
            token = self.next();
        }
        let Token::Ident(key) = token else {
            return Err(unexpected(token, "identifier"));
        };
        super::validate::validate_key(key)?;
        if negated {
            return Requirement::new(key, Operator::DoesNotExist, [""; 0]);
        }
        if matches!(self.peek(), Token::End | Token::Comma) {
            return Requirement::new(key, Operator::Exists, [""; 0]);
        }
        let operator = match self.next() {
            Token::Ident("in") => Operator::In,
            Token::Ident("notin") => Operator::NotIn,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::NotEquals => Operator::NotEquals,
            Token::Greater => Operator::GreaterThan,
            Token::Less => Operator::LessThan,
            other => return Err(unexpected(other, "in, notin, =, ==, !=, gt, lt")),
        };
        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => vec![self.exact_value()?],
        };
        Requirement::new(key, operator, values)
    }

    /// `"(" values ")"` (`parseValues`): `()` is the set `{""}`, and empty items between commas are `""`.
    fn value_set(&mut self) -> Result<Vec<&'t str>, SelectorError> {
        let open = self.next();
        if open != Token::Open {
            return Err(SelectorError::ExpectedOpenParen {
                found: open.literal().to_owned(),
            });
        }
        match self.peek() {
            Token::Close => {
                self.next();
                Ok(vec![""])
            }
            Token::Ident(_) | Token::Comma => {
                let values = self.value_list()?;
                // `value_list` returns only with `)` next.
                self.next();
                Ok(values)
            }
            other => Err(unexpected(other, "',', ')' or identifier")),
        }
    }

    /// Values up to (not including) the closing `)` (`parseIdentifiersList`).
    fn value_list(&mut self) -> Result<Vec<&'t str>, SelectorError> {
        let mut values = Vec::new();
        loop {
            match self.next() {
                Token::Ident(value) => {
                    values.push(value);
                    match self.peek() {
                        Token::Comma => {}
                        Token::Close => return Ok(values),
                        other => return Err(unexpected(other, "',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.push("");
                    }
                    match self.peek() {
                        Token::Close => {
                            values.push("");
                            return Ok(values);
                        }
                        // `,,`: the second comma is taken here, so a `)` right after it is refused
                        // (`(a,,)`), as apimachinery refuses it.
                        Token::Comma => {
                            self.next();
                            values.push("");
                        }
                        _ => {}
                    }
                }
                other => return Err(unexpected(other, "',', or identifier")),
            }
        }
    }

    /// The value after `=`, `==`, `!=`, `>`, `<` (`parseExactValue`): `""` when a `,` or the end follows.
    fn exact_value(&mut self) -> Result<&'t str, SelectorError> {
        if matches!(self.peek(), Token::End | Token::Comma) {
            return Ok("");
        }
        match self.next() {
            Token::Ident(value) => Ok(value),
            other => Err(unexpected(other, "identifier")),
        }
    }
}

/// The error for `found` where the grammar wants `expected`.
fn unexpected(found: Token<'_>, expected: &'static str) -> SelectorError {
    SelectorError::Unexpected {
        found: found.literal().to_owned(),
        expected,
    }
}

/// Parses selector text exactly as `labels.Parse` does; requirements come out stably sorted by key.
pub(super) fn parse(text: &str) -> Result<Selector, SelectorError> {
    if let Some(offset) = text.bytes().position(|b| b == 0) {
        return Err(SelectorError::NulByte { offset });
    }
    let mut parser = Parser {
        text,
        position: 0,
        peeked: None,
    };
    let requirements = parser.selector()?;
    Ok(Selector::sorted(requirements))
}
