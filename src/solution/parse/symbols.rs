//! Symbol extraction: one walk per language over the tree-sitter tree, applying that
//! language's rule for what is public API.

use super::{Lang, Symbol, SymbolKind};
use std::collections::HashSet;
use tree_sitter::Node;

/// The symbols under `root`, in source order.
pub(super) fn extract(lang: Lang, root: Node<'_>, source: &str) -> Vec<Symbol> {
    let mut walker = Walker {
        src: source,
        out: Vec::new(),
        exported: HashSet::new(),
    };
    match lang {
        Lang::Python => walker.python(root, None, true),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
            walker.exported = js_exported_names(root, source);
            walker.js(root, false);
        }
        Lang::Go => walker.go(root),
        Lang::Rust => walker.rust(root, None, true, false),
        Lang::Java => walker.java(root, None, true, false),
    }
    walker.out.sort_by_key(|s| (s.start_line, s.end_line));
    walker.out
}

struct Walker<'s> {
    src: &'s str,
    out: Vec<Symbol>,
    /// JS/TS names exported apart from their declaration (`export { a }`, CommonJS exports).
    exported: HashSet<String>,
}

fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

fn all_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

impl<'s> Walker<'s> {
    fn text(&self, node: Node<'_>) -> &'s str {
        self.src.get(node.byte_range()).unwrap_or_default()
    }

    fn field_text(&self, node: Node<'_>, field: &str) -> Option<&'s str> {
        node.child_by_field_name(field).map(|n| self.text(n))
    }

    /// The declaration from its start to the first of `stops` (its body or value), whitespace
    /// collapsed, without a trailing `{`, `:` or `=`.
    fn header(&self, node: Node<'_>, stops: &[&str]) -> String {
        let end = stops
            .iter()
            .filter_map(|f| node.child_by_field_name(f))
            .map(|n| n.start_byte())
            .min()
            .unwrap_or_else(|| node.end_byte());
        let raw = self.src.get(node.start_byte()..end).unwrap_or_default();
        let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        collapsed
            .trim_end_matches(['{', ':', '=', ';', ' '])
            .to_owned()
    }

    fn push(
        &mut self,
        span: Node<'_>,
        name: &str,
        kind: SymbolKind,
        container: Option<&str>,
        public: bool,
        signature: String,
    ) {
        if name.is_empty() {
            return;
        }
        self.out.push(Symbol {
            name: name.to_owned(),
            kind,
            container: container.map(str::to_owned),
            public,
            signature,
            start_line: span.start_position().row + 1,
            end_line: span.end_position().row + 1,
        });
    }

    // Python: module- and class-level names; `_private` is not API, dunders are.
    fn python(&mut self, node: Node<'_>, class: Option<&str>, visible: bool) {
        for child in named_children(node) {
            let (span, def) = if child.kind() == "decorated_definition" {
                match child.child_by_field_name("definition") {
                    Some(def) => (child, def),
                    None => continue,
                }
            } else {
                (child, child)
            };
            match def.kind() {
                "function_definition" => {
                    let name = self.field_text(def, "name").unwrap_or_default();
                    let kind = if class.is_some() {
                        SymbolKind::Method
                    } else {
                        SymbolKind::Function
                    };
                    let public = visible && python_public(name);
                    let signature = self.header(def, &["body"]);
                    self.push(span, name, kind, class, public, signature);
                }
                "class_definition" => {
                    let name = self.field_text(def, "name").unwrap_or_default();
                    let public = visible && python_public(name);
                    let signature = self.header(def, &["body"]);
                    self.push(span, name, SymbolKind::Class, class, public, signature);
                    if let Some(body) = def.child_by_field_name("body") {
                        self.python(body, Some(name), public);
                    }
                }
                "expression_statement" => {
                    for assignment in named_children(def) {
                        if assignment.kind() != "assignment" {
                            continue;
                        }
                        let Some(left) = assignment.child_by_field_name("left") else {
                            continue;
                        };
                        if left.kind() != "identifier" {
                            continue;
                        }
                        let name = self.text(left);
                        let kind = if is_screaming(name) {
                            SymbolKind::Const
                        } else {
                            SymbolKind::Variable
                        };
                        let public = visible && python_public(name);
                        let signature = self.header(assignment, &["right"]);
                        self.push(assignment, name, kind, class, public, signature);
                    }
                }
                // Definitions under `if TYPE_CHECKING:`, `try: … except ImportError:` and the
                // like are still module- or class-level.
                "if_statement" | "try_statement" | "with_statement" | "block" | "else_clause"
                | "elif_clause" | "except_clause" | "finally_clause" => {
                    self.python(def, class, visible);
                }
                _ => {}
            }
        }
    }

    // JavaScript and TypeScript: `export`ed declarations and the members of exported classes.
    fn js(&mut self, node: Node<'_>, exported: bool) {
        for child in named_children(node) {
            match child.kind() {
                "export_statement" => self.js(child, true),
                "function_declaration"
                | "generator_function_declaration"
                | "function_signature" => {
                    let name = self.field_text(child, "name").unwrap_or_default();
                    let public = exported || self.exported.contains(name);
                    let signature = self.header(child, &["body"]);
                    self.push(child, name, SymbolKind::Function, None, public, signature);
                }
                "class_declaration" | "abstract_class_declaration" | "class" => {
                    let name = self.field_text(child, "name").unwrap_or_default();
                    let public = exported || self.exported.contains(name);
                    let signature = self.header(child, &["body"]);
                    self.push(child, name, SymbolKind::Class, None, public, signature);
                    if let Some(body) = child.child_by_field_name("body") {
                        self.js_class_body(body, name, public);
                    }
                }
                "interface_declaration" | "type_alias_declaration" | "enum_declaration" => {
                    let name = self.field_text(child, "name").unwrap_or_default();
                    let kind = match child.kind() {
                        "interface_declaration" => SymbolKind::Interface,
                        "enum_declaration" => SymbolKind::Enum,
                        _ => SymbolKind::Type,
                    };
                    let public = exported || self.exported.contains(name);
                    let signature = if kind == SymbolKind::Type {
                        self.header(child, &[])
                    } else {
                        self.header(child, &["body"])
                    };
                    self.push(child, name, kind, None, public, signature);
                }
                "lexical_declaration" | "variable_declaration" => {
                    let is_const = all_children(child)
                        .first()
                        .is_some_and(|k| k.kind() == "const");
                    for declarator in named_children(child) {
                        if declarator.kind() != "variable_declarator" {
                            continue;
                        }
                        let Some(name_node) = declarator.child_by_field_name("name") else {
                            continue;
                        };
                        if name_node.kind() != "identifier" {
                            continue;
                        }
                        let name = self.text(name_node);
                        let value = declarator.child_by_field_name("value").map(|v| v.kind());
                        let kind = match value {
                            Some("arrow_function" | "function_expression" | "function") => {
                                SymbolKind::Function
                            }
                            Some("class") => SymbolKind::Class,
                            _ if is_const => SymbolKind::Const,
                            _ => SymbolKind::Variable,
                        };
                        let public = exported || self.exported.contains(name);
                        // A function's parameters are its signature; a constant's value is not.
                        let signature = match declarator.child_by_field_name("value") {
                            Some(v) if kind == SymbolKind::Function => {
                                format!("{name} = {}", self.header(v, &["body"]))
                            }
                            _ => self.header(declarator, &["value"]),
                        };
                        self.push(child, name, kind, None, public, signature);
                    }
                }
                _ => {}
            }
        }
    }

    fn js_class_body(&mut self, body: Node<'_>, class: &str, class_public: bool) {
        for member in named_children(body) {
            if !matches!(member.kind(), "method_definition" | "method_signature") {
                continue;
            }
            let Some(name_node) = member.child_by_field_name("name") else {
                continue;
            };
            let hidden = name_node.kind() == "private_property_identifier"
                || named_children(member).iter().any(|m| {
                    m.kind() == "accessibility_modifier"
                        && matches!(self.text(*m), "private" | "protected")
                });
            let name = self.text(name_node);
            let signature = self.header(member, &["body"]);
            let public = class_public && !hidden;
            self.push(
                member,
                name,
                SymbolKind::Method,
                Some(class),
                public,
                signature,
            );
        }
    }

    // Go: capitalized names are exported; a method also needs an exported receiver type.
    fn go(&mut self, root: Node<'_>) {
        for child in named_children(root) {
            match child.kind() {
                "function_declaration" => {
                    let name = self.field_text(child, "name").unwrap_or_default();
                    let signature = self.header(child, &["body"]);
                    let public = go_exported(name);
                    self.push(child, name, SymbolKind::Function, None, public, signature);
                }
                "method_declaration" => {
                    let name = self.field_text(child, "name").unwrap_or_default();
                    let receiver = child
                        .child_by_field_name("receiver")
                        .and_then(|r| first_descendant(r, "type_identifier"))
                        .map(|t| self.text(t))
                        .unwrap_or_default();
                    let public = go_exported(name) && go_exported(receiver);
                    let signature = self.header(child, &["body"]);
                    let container = (!receiver.is_empty()).then_some(receiver);
                    self.push(
                        child,
                        name,
                        SymbolKind::Method,
                        container,
                        public,
                        signature,
                    );
                }
                "type_declaration" => {
                    let specs = named_children(child);
                    let single = specs.len() == 1;
                    for spec in specs {
                        if !matches!(spec.kind(), "type_spec" | "type_alias") {
                            continue;
                        }
                        let name = self.field_text(spec, "name").unwrap_or_default();
                        let ty = spec.child_by_field_name("type").map(|t| t.kind());
                        let (kind, stops): (_, &[&str]) = match ty {
                            Some("struct_type") => (SymbolKind::Struct, &["type"]),
                            Some("interface_type") => (SymbolKind::Interface, &["type"]),
                            _ => (SymbolKind::Type, &[]),
                        };
                        let signature = format!("type {}", self.header(spec, stops));
                        let span = if single { child } else { spec };
                        let public = go_exported(name);
                        self.push(span, name, kind, None, public, signature);
                    }
                }
                "const_declaration" | "var_declaration" => {
                    let (kind, spec_kind, keyword) = if child.kind() == "const_declaration" {
                        (SymbolKind::Const, "const_spec", "const")
                    } else {
                        (SymbolKind::Variable, "var_spec", "var")
                    };
                    for spec in descendants_of_kind(child, spec_kind) {
                        let ty = self.field_text(spec, "type");
                        let mut cursor = spec.walk();
                        let names: Vec<Node<'_>> =
                            spec.children_by_field_name("name", &mut cursor).collect();
                        for name_node in names {
                            let name = self.text(name_node);
                            let signature = match ty {
                                Some(ty) => format!("{keyword} {name} {ty}"),
                                None => format!("{keyword} {name}"),
                            };
                            let public = go_exported(name);
                            self.push(spec, name, kind, None, public, signature);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    // Rust: plain `pub` (not `pub(crate)`) inside public modules; trait items follow the trait.
    fn rust(&mut self, node: Node<'_>, container: Option<&str>, visible: bool, in_trait: bool) {
        for child in named_children(node) {
            let own_pub = in_trait || self.rust_is_pub(child);
            let public = visible && own_pub;
            let (kind, stops): (SymbolKind, &[&str]) = match child.kind() {
                "function_item" | "function_signature_item" => {
                    if container.is_some() && !self.rust_in_module(node) {
                        (SymbolKind::Method, &["body"])
                    } else {
                        (SymbolKind::Function, &["body"])
                    }
                }
                "struct_item" | "union_item" => (SymbolKind::Struct, &["body"]),
                "enum_item" => (SymbolKind::Enum, &["body"]),
                "trait_item" => (SymbolKind::Trait, &["body"]),
                "type_item" => (SymbolKind::Type, &[]),
                "const_item" | "static_item" => (SymbolKind::Const, &["value"]),
                "mod_item" => (SymbolKind::Module, &["body"]),
                "impl_item" => {
                    let target = child
                        .child_by_field_name("type")
                        .map(|t| rust_type_name(self.text(t)))
                        .unwrap_or_default();
                    if let Some(body) = child.child_by_field_name("body") {
                        // Methods of a trait impl have the trait's signature, not their own API.
                        let inherent = child.child_by_field_name("trait").is_none();
                        self.rust(body, Some(target), visible && inherent, false);
                    }
                    continue;
                }
                _ => continue,
            };
            let name = self.field_text(child, "name").unwrap_or_default();
            let signature = self.header(child, stops);
            self.push(child, name, kind, container, public, signature);
            if let Some(body) = child.child_by_field_name("body") {
                match kind {
                    SymbolKind::Trait => self.rust(body, Some(name), public, true),
                    SymbolKind::Module => self.rust(body, Some(name), public, false),
                    _ => {}
                }
            }
        }
    }

    fn rust_is_pub(&self, item: Node<'_>) -> bool {
        named_children(item)
            .iter()
            .any(|c| c.kind() == "visibility_modifier" && self.text(*c) == "pub")
    }

    /// Whether `body` is a module's body (its functions are functions, not methods).
    fn rust_in_module(&self, body: Node<'_>) -> bool {
        body.parent().is_some_and(|p| p.kind() == "mod_item")
    }

    // Java: `public` inside public types; interface members are implicitly public.
    fn java(&mut self, node: Node<'_>, class: Option<&str>, visible: bool, in_interface: bool) {
        for child in named_children(node) {
            let modifiers = self.java_modifiers(child);
            let declared_public =
                modifiers.contains(&"public") || (in_interface && !modifiers.contains(&"private"));
            let public = visible && declared_public;
            let kind = match child.kind() {
                "class_declaration" => SymbolKind::Class,
                "interface_declaration" | "annotation_type_declaration" => SymbolKind::Interface,
                "enum_declaration" => SymbolKind::Enum,
                "record_declaration" => SymbolKind::Struct,
                "method_declaration" | "constructor_declaration" => SymbolKind::Method,
                "field_declaration" | "constant_declaration" => {
                    let constant = child.kind() == "constant_declaration"
                        || (modifiers.contains(&"static") && modifiers.contains(&"final"));
                    let kind = if constant {
                        SymbolKind::Const
                    } else {
                        SymbolKind::Variable
                    };
                    let ty = self.field_text(child, "type").unwrap_or_default();
                    let mut cursor = child.walk();
                    let declarators: Vec<Node<'_>> = child
                        .children_by_field_name("declarator", &mut cursor)
                        .collect();
                    for declarator in declarators {
                        let name = self.field_text(declarator, "name").unwrap_or_default();
                        let signature = format!("{} {ty} {name}", modifiers.join(" "));
                        let signature = signature.trim().to_owned();
                        self.push(child, name, kind, class, public, signature);
                    }
                    continue;
                }
                _ => continue,
            };
            let name = self.field_text(child, "name").unwrap_or_default();
            let signature = self.header(child, &["body"]);
            self.push(child, name, kind, class, public, signature);
            if kind != SymbolKind::Method
                && let Some(body) = child.child_by_field_name("body")
            {
                let interface = kind == SymbolKind::Interface;
                self.java(body, Some(name), public, interface);
                // An enum's members sit in `enum_body_declarations` inside its body.
                for inner in named_children(body) {
                    if inner.kind() == "enum_body_declarations" {
                        self.java(inner, Some(name), public, false);
                    }
                }
            }
        }
    }

    fn java_modifiers(&self, node: Node<'_>) -> Vec<&'s str> {
        named_children(node)
            .into_iter()
            .filter(|c| c.kind() == "modifiers")
            .flat_map(all_children)
            .filter(|m| !m.is_named())
            .map(|m| self.text(m))
            .collect()
    }
}

fn python_public(name: &str) -> bool {
    !name.starts_with('_') || (name.len() > 4 && name.starts_with("__") && name.ends_with("__"))
}

fn is_screaming(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn go_exported(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
}

/// `Foo<T>` → `Foo`, `crate::a::Foo` → `Foo`, `&mut Foo` → `Foo`.
fn rust_type_name(text: &str) -> &str {
    let base = text.split('<').next().unwrap_or(text);
    let base = base.rsplit("::").next().unwrap_or(base);
    base.trim_start_matches(['&', ' '])
        .trim_start_matches("mut ")
        .trim()
}

fn first_descendant<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    if node.kind() == kind {
        return Some(node);
    }
    named_children(node)
        .into_iter()
        .find_map(|c| first_descendant(c, kind))
}

fn descendants_of_kind<'t>(node: Node<'t>, kind: &str) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    for child in named_children(node) {
        if child.kind() == kind {
            found.push(child);
        } else {
            found.extend(descendants_of_kind(child, kind));
        }
    }
    found
}

/// Names a JS/TS module exports apart from `export <declaration>`: `export { a, b as c }`,
/// `export default name`, `module.exports = { a, b }`, `module.exports = a`, `exports.a = …`.
fn js_exported_names(root: Node<'_>, src: &str) -> HashSet<String> {
    let text = |n: Node<'_>| src.get(n.byte_range()).unwrap_or_default().to_owned();
    let mut names = HashSet::new();
    for child in named_children(root) {
        match child.kind() {
            "export_statement" => {
                for inner in named_children(child) {
                    match inner.kind() {
                        "export_clause" => {
                            for spec in named_children(inner) {
                                if let Some(name) = spec.child_by_field_name("name") {
                                    names.insert(text(name));
                                }
                            }
                        }
                        "identifier" => {
                            names.insert(text(inner));
                        }
                        _ => {}
                    }
                }
            }
            "expression_statement" => {
                let Some(assign) = named_children(child)
                    .into_iter()
                    .find(|n| n.kind() == "assignment_expression")
                else {
                    continue;
                };
                let (Some(left), Some(right)) = (
                    assign.child_by_field_name("left"),
                    assign.child_by_field_name("right"),
                ) else {
                    continue;
                };
                let target = text(left);
                if target == "module.exports" {
                    match right.kind() {
                        "identifier" => {
                            names.insert(text(right));
                        }
                        "object" => {
                            for prop in named_children(right) {
                                match prop.kind() {
                                    "shorthand_property_identifier" => {
                                        names.insert(text(prop));
                                    }
                                    "pair" => {
                                        if let Some(value) = prop.child_by_field_name("value")
                                            && value.kind() == "identifier"
                                        {
                                            names.insert(text(value));
                                        }
                                    }
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                } else if let Some(name) = target
                    .strip_prefix("module.exports.")
                    .or_else(|| target.strip_prefix("exports."))
                {
                    names.insert(name.to_owned());
                    if right.kind() == "identifier" {
                        names.insert(text(right));
                    }
                }
            }
            _ => {}
        }
    }
    names
}
