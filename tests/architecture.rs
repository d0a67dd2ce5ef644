//! What ARCHITECTURE.md says of the runtime crate's shape, checked on its source (parsed with
//! `syn`): no import cycle between the modules of any folder, the top-level modules in the
//! rows drawn there, no import through the crate root's re-exports, no function over 80
//! lines and no file over 400 without a reason, and a feature split over several homes
//! says why in each of them. Test code (`tests.rs`, `#[cfg(test)]` items) is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;
use syn::visit::Visit;

type ModulePath = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../session/src")
}

/// A source file of the runtime crate, as the module it is.
struct Module {
    path: ModulePath,
    file: PathBuf,
    text: String,
    ast: syn::File,
}

/// The module path of `file`: `request/server.rs` is `request::server`, `request/mod.rs`
/// is `request`, `lib.rs` the root.
fn module_path(file: &Path) -> ModulePath {
    let relative = file.strip_prefix(src()).unwrap().with_extension("");
    let mut path: ModulePath = relative
        .components()
        .map(|c| c.as_os_str().to_str().unwrap().to_owned())
        .collect();
    if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
        path.pop();
    }
    path
}

fn is_test_file(path: &ModulePath) -> bool {
    path.iter()
        .any(|part| part == "tests" || part == "proptests")
}

/// Every source file but test code, `TestSession` (`test.rs`, feature `test-util`) and the
/// benchmark and fuzz hooks, which reach into the layers they stand in for.
fn modules() -> Vec<Module> {
    let mut files = Vec::new();
    typed_sessions_tests::rust_files(&src(), &mut files);
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{file:?}: {e}"));
            Module {
                path: module_path(&file),
                file,
                text,
                ast,
            }
        })
        .filter(|module| !is_test_file(&module.path))
        .filter(|module| {
            !matches!(
                module.path.first().map(String::as_str),
                Some("internals" | "test")
            )
        })
        .collect()
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

/// The paths a file names (in `use` trees and in code), outside test items.
#[derive(Default)]
struct Paths {
    found: Vec<Vec<String>>,
}

impl Paths {
    fn tree(&mut self, prefix: &[String], tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                let mut prefix = prefix.to_vec();
                prefix.push(path.ident.to_string());
                self.tree(&prefix, &path.tree);
            }
            syn::UseTree::Name(name) => self.push(prefix, &name.ident),
            syn::UseTree::Rename(rename) => self.push(prefix, &rename.ident),
            syn::UseTree::Glob(_) => self.found.push(prefix.to_vec()),
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.tree(prefix, tree);
                }
            }
        }
    }

    fn push(&mut self, prefix: &[String], last: &syn::Ident) {
        let mut path = prefix.to_vec();
        if last != "self" {
            path.push(last.to_string());
        }
        self.found.push(path);
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(item) => &item.attrs,
            syn::Item::Fn(item) => &item.attrs,
            syn::Item::Impl(item) => &item.attrs,
            syn::Item::Use(item) => &item.attrs,
            syn::Item::Const(item) => &item.attrs,
            syn::Item::Struct(item) => &item.attrs,
            _ => &Vec::new(),
        };
        if !is_cfg_test(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.tree(&[], &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.found
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

/// `path`, named in `module`, as a path from the crate root; `None` for a path that does
/// not start with `crate`, `super` or `self`.
fn absolute(module: &Module, path: &[String]) -> Option<ModulePath> {
    let mut base = module.path.clone();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The longest prefix of `path` that is a module of the crate.
fn module_of(known: &BTreeSet<ModulePath>, path: &ModulePath) -> ModulePath {
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|prefix| known.contains(prefix))
        .unwrap_or_default()
}

/// Every import, as (from module, to module, the path as written).
fn imports(modules: &[Module]) -> Vec<(ModulePath, ModulePath, String)> {
    let known: BTreeSet<ModulePath> = modules.iter().map(|m| m.path.clone()).collect();
    let mut edges = Vec::new();
    for module in modules {
        let mut paths = Paths::default();
        paths.visit_file(&module.ast);
        for path in paths.found {
            if let Some(target) = absolute(module, &path) {
                let to = module_of(&known, &target);
                edges.push((module.path.clone(), to, path.join("::")));
            }
        }
    }
    edges
}

/// The import edges between sibling modules: for `a::b::x` importing `a::c::y`, `b -> c`
/// in folder `a`. A module importing its parent or its children is no edge.
fn sibling_edges(modules: &[Module]) -> BTreeMap<ModulePath, BTreeMap<String, BTreeSet<String>>> {
    let mut folders: BTreeMap<ModulePath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, to, _) in imports(modules) {
        let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
        if let (Some(a), Some(b)) = (from.get(common), to.get(common)) {
            folders
                .entry(from[..common].to_vec())
                .or_default()
                .entry(a.clone())
                .or_default()
                .insert(b.clone());
        }
    }
    folders
}

fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(module) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn no_folder_has_an_import_cycle_at_any_depth() {
    let folders = sibling_edges(&modules());
    assert!(folders.len() > 5, "found the folders: {folders:?}");
    assert!(
        folders[&Vec::new()].len() > 10,
        "found the top-level modules"
    );
    let mut cycles = Vec::new();
    for (folder, graph) in &folders {
        for (from, tos) in graph {
            for to in tos {
                if reaches(graph, to, from) {
                    cycles.push(format!("{}: {from} <-> {to}", folder.join("::")));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "imports that come back: {cycles:#?}");
}

/// ARCHITECTURE.md's rows, top first: a top-level module imports only from rows below.
const ROWS: &[&[&str]] = &[
    &["csrf", "live", "dbsc"],
    &["extract"],
    &["layer"],
    &["request"],
    &["accounts", "admin"],
    &["announce"],
    &["config"],
    &["import", "hub", "encryption", "device"],
    &["backend", "builtin", "transport", "events"],
    &["typed", "cookie", "observe"],
    &["error"],
    &["store"],
    &["record"],
    &["id", "time", "chain", "cache"],
    &["crypto"],
];

fn row(module: &str) -> usize {
    ROWS.iter()
        .position(|row| row.contains(&module))
        .unwrap_or_else(|| panic!("`{module}` is in no row of ARCHITECTURE.md"))
}

#[test]
fn each_top_level_module_imports_only_from_the_rows_below() {
    let folders = sibling_edges(&modules());
    let upward: Vec<_> = folders[&Vec::new()]
        .iter()
        .flat_map(|(from, to)| to.iter().map(move |to| (from.clone(), to.clone())))
        .filter(|(from, to)| row(to) <= row(from))
        .collect();
    assert!(
        upward.is_empty(),
        "imports from the same row or above: {upward:?}"
    );
}

#[test]
fn the_record_format_knows_nothing_above_it() {
    let folders = sibling_edges(&modules());
    let top = &folders[&Vec::new()];
    assert_eq!(top.get("time"), None, "time imports nothing");
    assert_eq!(top["record"], BTreeSet::from(["time".to_owned()]));
    for below_the_request in ["typed", "record", "cookie", "store", "builtin", "crypto"] {
        for above in ["request", "layer", "extract", "config", "csrf"] {
            assert!(
                !reaches(top, below_the_request, above),
                "`{below_the_request}` reaches `{above}`"
            );
        }
    }
}

#[test]
fn nothing_inside_the_crate_imports_through_the_root() {
    let modules = modules();
    let top: BTreeSet<&str> = modules
        .iter()
        .filter_map(|m| m.path.first().map(String::as_str))
        .collect();
    let through_root: Vec<_> = imports(&modules)
        .into_iter()
        .filter(|(from, to, written)| {
            !from.is_empty()
                && to.is_empty()
                && written.starts_with("crate::")
                && !top.contains(written.split("::").nth(1).unwrap_or(""))
        })
        .map(|(from, _, written)| format!("{}: {written}", from.join("::")))
        .collect();
    assert!(
        through_root.is_empty(),
        "import from the defining module instead: {through_root:#?}"
    );
}

#[test]
fn the_import_scan_sees_every_kind_of_path() {
    let ast = syn::parse_file(
        "use crate::{error::Error, typed::SessionData};\nuse super::state::{self, Kind};\nfn f() { crate::time::unix_ms(t); }\n#[cfg(test)]\nmod tests { use crate::layer::X; }\n",
    )
    .unwrap();
    let module = Module {
        path: vec!["request".into(), "server".into()],
        file: PathBuf::new(),
        text: String::new(),
        ast,
    };
    let mut paths = Paths::default();
    paths.visit_file(&module.ast);
    let found: BTreeSet<String> = paths
        .found
        .iter()
        .filter_map(|path| absolute(&module, path))
        .map(|path| path.join("::"))
        .collect();
    for expected in [
        "error::Error",
        "typed::SessionData",
        "request::state",
        "request::state::Kind",
        "time::unix_ms",
    ] {
        assert!(found.contains(expected), "{expected} not in {found:?}");
    }
    assert!(
        !found.iter().any(|path| path.starts_with("layer")),
        "test code"
    );
}

/// Every function with a body, outside test code: (name, lines).
#[derive(Default)]
struct Functions {
    found: Vec<(String, usize)>,
}

impl Functions {
    fn push(&mut self, name: &syn::Ident, sig: &syn::Signature, block: &syn::Block) {
        let lines = block.span().end().line - sig.span().start().line + 1;
        self.found.push((name.to_string(), lines));
    }
}

impl<'ast> Visit<'ast> for Functions {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_cfg_test(&item.attrs) {
            syn::visit::visit_item_mod(self, item);
        }
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_cfg_test(&item.attrs) {
            self.push(&item.sig.ident, &item.sig, &item.block);
            syn::visit::visit_item_fn(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.push(&item.sig.ident, &item.sig, &item.block);
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.push(&item.sig.ident, &item.sig, block);
        }
        syn::visit::visit_trait_item_fn(self, item);
    }
}

#[test]
fn no_library_function_passes_80_lines() {
    let mut long = Vec::new();
    let mut counted = 0;
    for module in modules() {
        let mut functions = Functions::default();
        functions.visit_file(&module.ast);
        counted += functions.found.len();
        for (name, lines) in functions.found {
            if lines > 80 {
                long.push(format!("{}::{name}: {lines} lines", module.path.join("::")));
            }
        }
    }
    assert!(counted > 300, "found the functions: {counted}");
    assert!(long.is_empty(), "split these: {long:#?}");
}

/// What a file over 400 lines says in its first lines, with the reason after it.
const LONG_FILE_REASON: &str = "Longer than 400 lines:";

#[test]
fn no_source_file_passes_400_lines_without_saying_why() {
    let mut files = Vec::new();
    typed_sessions_tests::rust_files(&src(), &mut files);
    let long: Vec<_> = files
        .iter()
        .map(|file| (file, std::fs::read_to_string(file).unwrap()))
        .filter(|(_, text)| text.lines().count() > 400)
        .filter(|(_, text)| !text.lines().take(10).any(|l| l.contains(LONG_FILE_REASON)))
        .map(|(file, text)| (file.to_owned(), text.lines().count()))
        .collect();
    assert!(long.is_empty(), "{long:?}");
}

/// The features that live in more than one row, and the homes each has.
const SPLIT_FEATURES: &[(&str, &[&str])] = &[
    (
        "csrf",
        &[
            "csrf/mod.rs",
            "builtin/csrf.rs",
            "request/csrf.rs",
            "crypto/mask.rs",
        ],
    ),
    (
        "flash",
        &["extract/flash.rs", "builtin/flash.rs", "request/flash.rs"],
    ),
    (
        "owner",
        &[
            "id/owner.rs",
            "builtin/owner.rs",
            "request/owner.rs",
            "extract/owner.rs",
            "accounts/mod.rs",
        ],
    ),
    (
        "freshness",
        &["extract/fresh.rs", "builtin/owner.rs", "request/owner.rs"],
    ),
    (
        "live sessions",
        &[
            "live/mod.rs",
            "hub/mod.rs",
            "announce.rs",
            "request/socket.rs",
            "store/broadcast.rs",
        ],
    ),
    (
        "import",
        &["import/mod.rs", "request/import.rs", "typed/imported.rs"],
    ),
    (
        "device binding",
        &["dbsc/mod.rs", "device/mod.rs", "request/device.rs"],
    ),
    (
        "rotation",
        &[
            "builtin/rotation.rs",
            "request/rotation.rs",
            "request/retired.rs",
        ],
    ),
];

/// Each home of a split feature names the others in its module doc: why the layering
/// splits it, and where the rest is.
#[test]
fn a_feature_split_over_homes_names_them_in_each() {
    let modules = modules();
    let mut missing = Vec::new();
    for (feature, homes) in SPLIT_FEATURES {
        for home in *homes {
            let module = modules
                .iter()
                .find(|m| m.file.ends_with(home))
                .unwrap_or_else(|| panic!("{feature}: no {home}"));
            let doc: String = module
                .text
                .lines()
                .take_while(|line| line.starts_with("//!"))
                .collect::<Vec<_>>()
                .join(" ");
            for other in homes.iter().filter(|other| *other != home) {
                // `request/csrf.rs`, or the folder `csrf/` of a `csrf/mod.rs`.
                let named = other.trim_end_matches("mod.rs");
                if !doc.contains(named) {
                    missing.push(format!("{home} does not name {other}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// The inherent `pub` methods of `Session<T>`, from the runtime crate's source.
fn session_methods() -> BTreeSet<String> {
    let mut methods = BTreeSet::new();
    for file in ["extract/mod.rs", "extract/owner.rs"] {
        let text = std::fs::read_to_string(src().join(file)).unwrap();
        let file = syn::parse_file(&text).unwrap();
        session_impl_methods(file, &mut methods);
    }
    methods
}

/// The `pub` methods of the inherent `impl`s of `Session` in `file`, into `methods`.
fn session_impl_methods(file: syn::File, methods: &mut BTreeSet<String>) {
    for item in file.items {
        let syn::Item::Impl(item) = item else {
            continue;
        };
        let syn::Type::Path(ty) = &*item.self_ty else {
            continue;
        };
        if item.trait_.is_some() || ty.path.segments.last().unwrap().ident != "Session" {
            continue;
        }
        for item in item.items {
            if let syn::ImplItem::Fn(method) = item
                && matches!(method.vis, syn::Visibility::Public(_))
            {
                methods.insert(method.sig.ident.to_string());
            }
        }
    }
}

/// The derive's one list of the names a field cannot take.
fn reserved_names() -> BTreeSet<String> {
    let path = src().join("../../session-derive/src/reserved.rs");
    let file = syn::parse_file(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut names = BTreeSet::new();
    for item in file.items {
        let syn::Item::Const(item) = item else {
            continue;
        };
        let syn::Expr::Reference(reference) = &*item.expr else {
            continue;
        };
        let syn::Expr::Array(array) = &*reference.expr else {
            continue;
        };
        for name in &array.elems {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(name),
                ..
            }) = name
            {
                names.insert(name.value());
            }
        }
    }
    names
}

/// A field named after a method of `Session<T>` would be hidden by it: the derive refuses
/// the names in its list, and the list is every method, no more and no fewer.
#[test]
fn the_names_a_field_cannot_take_are_the_methods_of_session() {
    let methods = session_methods();
    assert!(methods.len() > 10, "found the methods: {methods:?}");
    let reserved = reserved_names();
    let unlisted: Vec<_> = methods.difference(&reserved).collect();
    let stale: Vec<_> = reserved.difference(&methods).collect();
    assert!(
        unlisted.is_empty(),
        "add these methods to session-derive/src/reserved.rs: {unlisted:?}"
    );
    assert!(
        stale.is_empty(),
        "no longer methods of Session<T>, remove them from the list: {stale:?}"
    );
}
