//! Evaluates integer expressions (`+ - * /`, parentheses, unary minus)
//! with a fuel budget, so a player script can never run unbounded.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Syntax(usize),
    DivisionByZero,
    Overflow,
    OutOfFuel,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(at) => write!(f, "syntax error at byte {at}"),
            Error::DivisionByZero => f.write_str("division by zero"),
            Error::Overflow => f.write_str("arithmetic overflow"),
            Error::OutOfFuel => f.write_str("script ran out of fuel"),
        }
    }
}

impl std::error::Error for Error {}

/// Default number of evaluation steps a script may take.
pub const DEFAULT_FUEL: u32 = 10_000;

/// Evaluates `source` with [`DEFAULT_FUEL`].
///
/// ```
/// assert_eq!(script_sandbox::eval("2 * (3 + 4)"), Ok(14));
/// ```
pub fn eval(source: &str) -> Result<i64, Error> {
    eval_with_fuel(source, DEFAULT_FUEL)
}

pub fn eval_with_fuel(source: &str, fuel: u32) -> Result<i64, Error> {
    let mut parser = Parser {
        src: source.as_bytes(),
        pos: 0,
        fuel,
    };
    let value = parser.expr()?;
    parser.skip_spaces();
    if parser.pos != parser.src.len() {
        return Err(Error::Syntax(parser.pos));
    }
    Ok(value)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    fuel: u32,
}

impl Parser<'_> {
    fn burn(&mut self) -> Result<(), Error> {
        self.fuel = self.fuel.checked_sub(1).ok_or(Error::OutOfFuel)?;
        Ok(())
    }

    fn skip_spaces(&mut self) {
        while self.src.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_spaces();
        self.src.get(self.pos).copied()
    }

    fn expr(&mut self) -> Result<i64, Error> {
        let mut value = self.term()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            let rhs = self.term()?;
            value = if op == b'+' {
                value.checked_add(rhs)
            } else {
                value.checked_sub(rhs)
            }
            .ok_or(Error::Overflow)?;
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<i64, Error> {
        let mut value = self.factor()?;
        while let Some(op @ (b'*' | b'/')) = self.peek() {
            self.pos += 1;
            let rhs = self.factor()?;
            value = if op == b'*' {
                value.checked_mul(rhs).ok_or(Error::Overflow)?
            } else if rhs == 0 {
                return Err(Error::DivisionByZero);
            } else {
                value.checked_div(rhs).ok_or(Error::Overflow)?
            };
        }
        Ok(value)
    }

    fn factor(&mut self) -> Result<i64, Error> {
        self.burn()?;
        match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                self.factor()?.checked_neg().ok_or(Error::Overflow)
            }
            Some(b'(') => {
                self.pos += 1;
                let value = self.expr()?;
                if self.peek() != Some(b')') {
                    return Err(Error::Syntax(self.pos));
                }
                self.pos += 1;
                Ok(value)
            }
            Some(b'0'..=b'9') => {
                let start = self.pos;
                while self.src.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                std::str::from_utf8(&self.src[start..self.pos])
                    .ok()
                    .and_then(|digits| digits.parse().ok())
                    .ok_or(Error::Overflow)
            }
            _ => Err(Error::Syntax(self.pos)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_with_precedence() {
        assert_eq!(eval("1 + 2 * 3"), Ok(7));
        assert_eq!(eval("(1 + 2) * 3"), Ok(9));
        assert_eq!(eval("-4 / 2 - -1"), Ok(-1));
    }

    #[test]
    fn reports_errors() {
        assert_eq!(eval("1 +"), Err(Error::Syntax(3)));
        assert_eq!(eval("1 2"), Err(Error::Syntax(2)));
        assert_eq!(eval("5 / (2 - 2)"), Err(Error::DivisionByZero));
        assert_eq!(eval("9223372036854775807 + 1"), Err(Error::Overflow));
        assert_eq!(eval_with_fuel("1+1+1+1", 3), Err(Error::OutOfFuel));
    }
}
