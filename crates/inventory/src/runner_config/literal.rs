//! Literal values read from JavaScript, TypeScript and JSON configuration files without
//! running them: objects, arrays, strings, regular expressions and booleans. Anything
//! computed (a call, a variable, a template with `${}`) is [`Value::Other`], so a setting
//! given that way stays unknown instead of guessed.
//!
//! The reader is linear in the text and bounded in nesting; it never fails, it only
//! gives up on the part it cannot read.

/// A value as written in the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    /// A regular expression literal's pattern (`/\.spec\.ts$/` → `\.spec\.ts$`).
    Regex(String),
    Bool(bool),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
    Other,
}

impl Value {
    /// The value under `key` in an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A string, or an array of strings (or regex literals): `None` when anything in it
    /// is not a literal.
    pub fn strings(&self) -> Option<Vec<String>> {
        match self {
            Value::Str(s) | Value::Regex(s) => Some(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::Str(s) | Value::Regex(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

/// Deepest nesting read; deeper values are [`Value::Other`].
const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if self.b[self.pos..].starts_with(b"//") {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.pos += 1;
                }
            } else if self.b[self.pos..].starts_with(b"/*") {
                self.pos += 2;
                while self.pos < self.b.len() && !self.b[self.pos..].starts_with(b"*/") {
                    self.pos += 1;
                }
                self.pos = (self.pos + 2).min(self.b.len());
            } else {
                break;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Value {
        self.skip_space();
        if depth > MAX_DEPTH {
            self.skip_other();
            return Value::Other;
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(q @ (b'"' | b'\'')) => self.string(q).map_or(Value::Other, Value::Str),
            Some(b'`') => match self.string(b'`') {
                Some(s) if !s.contains("${") => Value::Str(s),
                _ => Value::Other,
            },
            Some(b'/') => self.regex().map_or(Value::Other, Value::Regex),
            _ => {
                let start = self.pos;
                self.skip_other();
                match std::str::from_utf8(&self.b[start..self.pos]).map(str::trim) {
                    Ok("true") => Value::Bool(true),
                    Ok("false") => Value::Bool(false),
                    _ => Value::Other,
                }
            }
        }
    }

    /// Skips an expression up to a `,` or a closing bracket at its own level.
    fn skip_other(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'"' | b'\'' | b'`' => {
                    let _ = self.string(c);
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth == 0 => return,
                b')' | b']' | b'}' => depth -= 1,
                b',' | b';' if depth == 0 => return,
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn string(&mut self, quote: u8) -> Option<String> {
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                }
                c if c == quote => return Some(String::from_utf8_lossy(&out).into_owned()),
                c => out.push(c),
            }
        }
        None
    }

    fn regex(&mut self) -> Option<String> {
        self.pos += 1;
        let start = self.pos;
        let mut in_class = false;
        while let Some(c) = self.peek() {
            match c {
                b'\\' => self.pos += 1,
                b'[' => in_class = true,
                b']' => in_class = false,
                b'/' if !in_class => {
                    let pattern = String::from_utf8_lossy(&self.b[start..self.pos]).into_owned();
                    self.pos += 1;
                    while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                        self.pos += 1;
                    }
                    return Some(pattern);
                }
                b'\n' => return None,
                _ => {}
            }
            self.pos += 1;
        }
        None
    }

    fn key(&mut self) -> Option<String> {
        match self.peek()? {
            q @ (b'"' | b'\'') => self.string(q),
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
                {
                    self.pos += 1;
                }
                (self.pos > start)
                    .then(|| String::from_utf8_lossy(&self.b[start..self.pos]).into_owned())
            }
        }
    }

    fn object(&mut self, depth: usize) -> Value {
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => return Value::Other,
                Some(b'}') => {
                    self.pos += 1;
                    return Value::Object(entries);
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            let key = self.key();
            self.skip_space();
            match (key, self.peek()) {
                (Some(k), Some(b':')) => {
                    self.pos += 1;
                    let v = self.value(depth + 1);
                    entries.push((k, v));
                }
                // A spread, a shorthand property or a method: not a literal entry.
                _ => self.skip_other(),
            }
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => {
                    self.skip_other();
                    if !matches!(self.peek(), Some(b',' | b'}')) {
                        return Value::Other;
                    }
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Value {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => return Value::Other,
                Some(b']') => {
                    self.pos += 1;
                    return Value::Array(items);
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            items.push(self.value(depth + 1));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                _ => {
                    self.skip_other();
                    if !matches!(self.peek(), Some(b',' | b']')) {
                        return Value::Other;
                    }
                }
            }
        }
    }
}

/// The first object literal of a JSON (or JSONC) text.
pub fn json_object(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    let mut r = Reader {
        b: text.as_bytes(),
        pos: start,
    };
    Some(r.value(0)).filter(|v| matches!(v, Value::Object(_)))
}

/// The object a JavaScript/TypeScript config exports: `module.exports = {…}`,
/// `export default {…}`, either wrapped in a call (`defineConfig({…})`) or through a
/// variable (`const config = {…}; export default config`).
pub fn exported_object(text: &str) -> Option<Value> {
    let at = ["module.exports", "export default"]
        .iter()
        .filter_map(|m| text.find(m).map(|i| i + m.len()))
        .min()?;
    let rest = text[at..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    if let Some(v) = object_at(text, text.len() - rest.len()) {
        return Some(v);
    }
    // A variable: find its declaration.
    let ident: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    if ident.is_empty() {
        return None;
    }
    for decl in ["const ", "let ", "var "] {
        let needle = format!("{decl}{ident}");
        if let Some(i) = text.find(&needle) {
            let after = &text[i + needle.len()..];
            let eq = after.find('=')?;
            return object_at(text, text.len() - after[eq + 1..].len());
        }
    }
    None
}

/// An object literal at `pos`, or as the first argument of a call there.
fn object_at(text: &str, pos: usize) -> Option<Value> {
    let rest = text.get(pos..)?.trim_start();
    let mut pos = text.len() - rest.len();
    if !rest.starts_with('{') {
        // `defineConfig({…})`, `defineConfig(() => ({…}))` is not read.
        let call = rest.find('(').filter(|&i| {
            rest[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.')
        })?;
        let arg = rest[call + 1..].trim_start();
        if !arg.starts_with('{') {
            return None;
        }
        pos = text.len() - arg.len();
    }
    let mut r = Reader {
        b: text.as_bytes(),
        pos,
    };
    Some(r.value(0)).filter(|v| matches!(v, Value::Object(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_read_and_computed_values_are_other() {
        let text = r#"
// jest.config.js
const base = require('./base');
module.exports = {
  ...base,
  /* where tests live */
  testMatch: ['**/__tests__/**/*.js', "<rootDir>/test/**/*.test.js"],
  testRegex: /\.spec\.[jt]s$/,
  verbose: true,
  roots: [path.join(__dirname, 'src')],
  transform() { return {}; },
  name: `plain`,
  other: `${x}`,
};
"#;
        let v = exported_object(text).unwrap();
        assert_eq!(
            v.get("testMatch").and_then(Value::strings),
            Some(vec![
                "**/__tests__/**/*.js".to_string(),
                "<rootDir>/test/**/*.test.js".to_string()
            ])
        );
        assert_eq!(
            v.get("testRegex").and_then(Value::strings),
            Some(vec![r"\.spec\.[jt]s$".to_string()])
        );
        assert_eq!(v.get("verbose"), Some(&Value::Bool(true)));
        assert_eq!(v.get("roots").and_then(Value::strings), None);
        assert_eq!(v.get("name"), Some(&Value::Str("plain".into())));
        assert_eq!(v.get("other"), Some(&Value::Other));
    }

    #[test]
    fn define_config_and_variables() {
        let a = "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { include: ['src/**/*.test.ts'], exclude: ['src/fixtures/**'] } });\n";
        let v = exported_object(a).unwrap();
        let test = v.get("test").unwrap();
        assert_eq!(
            test.get("exclude").and_then(Value::strings),
            Some(vec!["src/fixtures/**".to_string()])
        );
        let b = "const config: Config = { testMatch: ['**/*.spec.ts'] };\nexport default config;\n";
        assert!(exported_object(b).unwrap().get("testMatch").is_some());
    }

    #[test]
    fn hostile_text_ends() {
        assert!(json_object("{ \"a\": [1, 2").is_none());
        let deep = "[".repeat(100_000);
        assert!(json_object(&format!("{{\"a\": {deep}")).is_none());
        assert!(exported_object("module.exports = {{{{{{").is_none());
        assert!(json_object("{ \"spec\": \"test/**/*.js\", }").is_some());
    }
}
