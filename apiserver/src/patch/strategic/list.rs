//! Lists: merging by merge key or as sets of scalars, `$patch` elements,
//! `$deleteFromPrimitiveList` and the element order (`$setElementOrder`).

use serde_json::{Map, Value};

use super::schema::{Field, Schema};
use super::{
    Kind, PATCH, Path, Result, SET_ELEMENT_ORDER, StrategicPatchError, directive_target, kind,
    merge_map, type_name, without_directives,
};

/// What identifies an element when ordering: the value of its merge key, or the element
/// itself in a list of scalars (`None` when it has no such value).
type Identity = Option<Value>;

/// Merges the list `patch` into the list `original` of `field`: merged if the field has a
/// merge strategy (or the patch is a `$deleteFromPrimitiveList`), else replaced.
pub(super) fn merge_field(
    original: Vec<Value>,
    patch: Vec<Value>,
    field: Field,
    delete_list: bool,
    path: Path<'_>,
) -> Result<Vec<Value>> {
    if field.merges_lists() || delete_list {
        merge_list(
            original,
            patch,
            field.merge_key(),
            field.schema.items(),
            delete_list,
            path,
        )
    } else {
        Ok(patch)
    }
}

fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    key: Option<&'static str>,
    items: Schema,
    delete_list: bool,
    path: Path<'_>,
) -> Result<Vec<Value>> {
    let Some(element_kind) = element_kind(&original, &patch, path)? else {
        return Ok(original);
    };
    if element_kind != Kind::Object {
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|element| !patch.contains(element))
                .collect());
        }
        let server_order = identities(&original, None, element_kind, path)?;
        let patch_order = identities(&patch, None, element_kind, path)?;
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for element in original.into_iter().chain(patch.iter().cloned()) {
            if !merged.contains(&element) {
                merged.push(element);
            }
        }
        let (named, server_only) = merged
            .into_iter()
            .partition(|element| patch.contains(element));
        return Ok(order(
            named,
            server_only,
            &patch_order,
            &server_order,
            None,
            element_kind,
        ));
    }

    let Some(key) = key else {
        return Err(StrategicPatchError::NoMergeKey {
            at: path.describe(),
        });
    };
    let (original, patch) = special_elements(original, patch, key, path)?;
    let server_order = identities(&original, Some(key), element_kind, path)?;
    let patch_order = identities(&patch, Some(key), element_kind, path)?;
    let merged = merge_elements(original, patch, key, items, path)?;
    let (named, server_only) = partition_by_key(merged, &patch_order, key, path)?;
    Ok(order(
        named,
        server_only,
        &patch_order,
        &server_order,
        Some(key),
        element_kind,
    ))
}

/// Applies the `$patch` elements of a merged list of objects: `delete` removes the
/// elements with that key, `replace` makes the other patch elements the whole list.
/// Returns the list to merge into and the plain patch elements.
fn special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &'static str,
    path: Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for (index, element) in patch.into_iter().enumerate() {
        let Some(directive) = element.get(PATCH) else {
            plain.push(element);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(id) = element.get(key) else {
                    return Err(missing_key(path, key, &element));
                };
                original.retain(|existing| existing.get(key) != Some(id));
            }
            Some("replace") => replace = true,
            _ => {
                return Err(StrategicPatchError::InvalidDirective {
                    at: path.index(index).describe(),
                    value: directive.to_string(),
                    allowed: "\"replace\" and \"delete\"",
                });
            }
        }
    }
    Ok(if replace {
        (plain, Vec::new())
    } else {
        (original, plain)
    })
}

/// Merges each patch element into the element of `original` with the same key, or
/// appends it.
fn merge_elements(
    mut merged: Vec<Value>,
    patch: Vec<Value>,
    key: &'static str,
    items: Schema,
    path: Path<'_>,
) -> Result<Vec<Value>> {
    for (index, element) in patch.into_iter().enumerate() {
        let Value::Object(element) = element else {
            return Err(wrong_type(path.index(index), "an object", &element));
        };
        let Some(id) = element.get(key) else {
            return Err(missing_key(path, key, &Value::Object(element)));
        };
        match merged
            .iter()
            .position(|existing| existing.get(key) == Some(id))
        {
            Some(at) => {
                let current = match std::mem::take(&mut merged[at]) {
                    Value::Object(current) => current,
                    other => return Err(wrong_type(path, "a list of objects", &other)),
                };
                merged[at] = Value::Object(merge_map(current, element, items, path.index(index))?);
            }
            None => merged.push(Value::Object(element)),
        }
    }
    Ok(merged)
}

/// Applies the `$setElementOrder/<list>` directives of `patch` to `original`: merges each
/// named list (removing it from the patch) and puts the result in the given order.
pub(super) fn apply_element_orders(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema,
    path: Path<'_>,
) -> Result<()> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|key| key.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in directives {
        let Some(given) = patch.remove(&directive) else {
            continue;
        };
        let Value::Array(given) = given else {
            return Err(wrong_type(path.field(&directive), "a list", &given));
        };
        let rest = directive.get(SET_ELEMENT_ORDER.len()..).unwrap_or_default();
        let name = directive_target(rest, &directive, SET_ELEMENT_ORDER, path)?;
        let at = path.field(name);
        let field = schema.field(name);
        let key = field.merge_key();

        let current = list_in(original, name, path)?;
        let patched = list_in(patch, name, path)?;
        if let Some(patched) = patched {
            validate_order(patched, &given, key, at, name)?;
        }
        if current.is_none() && patched.is_none() {
            continue;
        }
        let Some(element_kind) = element_kind(
            current.map_or(&[][..], Vec::as_slice),
            patched.map_or(&[][..], Vec::as_slice),
            at,
        )?
        else {
            return Err(StrategicPatchError::EmptyOrderedList {
                at: path.describe(),
                field: name.to_owned(),
            });
        };
        let server_order = identities(
            current.map_or(&[][..], Vec::as_slice),
            key,
            element_kind,
            at,
        )?;
        let wanted_order = identities(&given, key, element_kind, at)?;

        let current = match original.get_mut(name) {
            Some(Value::Array(items)) => Some(std::mem::take(items)),
            _ => None,
        };
        let patched = match patch.remove(name) {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        };
        let merged = match (current, patched) {
            (Some(current), None) => current,
            (None, Some(patched)) => patched.into_iter().filter_map(without_directives).collect(),
            (Some(current), Some(patched)) => merge_field(current, patched, field, false, at)?,
            (None, None) => continue,
        };
        let (named, server_only) = match key {
            Some(key) => partition_by_key(merged, &wanted_order, key, at)?,
            None => merged
                .into_iter()
                .partition(|element| given.contains(element)),
        };
        let ordered = order(
            named,
            server_only,
            &wanted_order,
            &server_order,
            key,
            element_kind,
        );
        original.insert(name.to_owned(), Value::Array(ordered));
    }
    Ok(())
}

/// The list at `name` in `map`, if any.
fn list_in<'m>(
    map: &'m Map<String, Value>,
    name: &str,
    path: Path<'_>,
) -> Result<Option<&'m Vec<Value>>> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(wrong_type(path.field(name), "a list", other)),
    }
}

/// Checks that the elements the patch list names (other than directives) appear in
/// `$setElementOrder` in the same order.
fn validate_order(
    patched: &[Value],
    given: &[Value],
    key: Option<&'static str>,
    at: Path<'_>,
    name: &str,
) -> Result<()> {
    if patched.is_empty() || given.is_empty() {
        return Ok(());
    }
    let mut named = Vec::with_capacity(patched.len());
    for element in patched {
        if key.is_some() && !element.is_object() {
            return Err(wrong_type(at, "a list of objects", element));
        }
        if key.is_none() || element.get(PATCH).and_then(Value::as_str) != Some("delete") {
            named.push(element);
        }
    }
    let (mut next, mut position) = (0, 0);
    while next < named.len() && position < given.len() {
        if named[next].get(PATCH).is_some() {
            next += 1;
            continue;
        }
        if same_element(named[next], &given[position], key, at)? {
            next += 1;
        }
        position += 1;
    }
    if next < named.len() {
        return Err(StrategicPatchError::OrderMismatch {
            at: at.describe(),
            field: name.to_owned(),
        });
    }
    Ok(())
}

/// Whether two elements are the same: by merge key, or equal scalars.
fn same_element(a: &Value, b: &Value, key: Option<&'static str>, at: Path<'_>) -> Result<bool> {
    let Some(key) = key else {
        return Ok(a == b);
    };
    Ok(key_of(a, key, at)? == key_of(b, key, at)?)
}

/// The value of the merge key of a list element that must carry it.
fn key_of<'v>(element: &'v Value, key: &'static str, at: Path<'_>) -> Result<&'v Value> {
    match element {
        Value::Object(map) => map.get(key).ok_or_else(|| missing_key(at, key, element)),
        other => Err(wrong_type(at, "an object", other)),
    }
}

/// The one JSON type of the elements of both lists (`None` if both are empty).
fn element_kind(a: &[Value], b: &[Value], path: Path<'_>) -> Result<Option<Kind>> {
    let mut found = None;
    for element in a.iter().chain(b) {
        let this = kind(element);
        match found {
            None if this == Kind::List => {
                return Err(StrategicPatchError::ListOfLists {
                    at: path.describe(),
                });
            }
            None => found = Some(this),
            Some(first) if first != this => {
                return Err(StrategicPatchError::MixedList {
                    at: path.describe(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(found)
}

/// The identities of the elements of a list whose elements are of `element_kind`;
/// objects must all carry the merge key.
fn identities(
    list: &[Value],
    key: Option<&'static str>,
    element_kind: Kind,
    path: Path<'_>,
) -> Result<Vec<Identity>> {
    if element_kind != Kind::Object {
        return Ok(list.iter().cloned().map(Some).collect());
    }
    let Some(key) = key else {
        return Err(StrategicPatchError::NoMergeKey {
            at: path.describe(),
        });
    };
    list.iter()
        .map(|element| match element {
            Value::Object(map) => map
                .get(key)
                .cloned()
                .map(Some)
                .ok_or_else(|| missing_key(path, key, element)),
            other => Err(wrong_type(path, "an object", other)),
        })
        .collect()
}

/// Splits merged objects into those whose key is in `named` and the rest.
fn partition_by_key(
    merged: Vec<Value>,
    named: &[Identity],
    key: &'static str,
    path: Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut in_named = Vec::new();
    let mut rest = Vec::new();
    for element in merged {
        let Some(id) = element.get(key) else {
            return Err(match element {
                Value::Object(_) => missing_key(path, key, &element),
                other => wrong_type(path, "an object", &other),
            });
        };
        if named.iter().any(|name| name.as_ref() == Some(id)) {
            in_named.push(element);
        } else {
            rest.push(element);
        }
    }
    Ok((in_named, rest))
}

/// Upstream's element order: the elements the patch names (`named`) in `named_order`,
/// the others (`server_only`) in `server_order`; then interleaved, taking the next
/// server-only element first only while it comes before the next named element in
/// `server_order`. Named elements new to the list thus come before the server-only
/// elements that follow them.
fn order(
    named: Vec<Value>,
    server_only: Vec<Value>,
    named_order: &[Identity],
    server_order: &[Identity],
    key: Option<&'static str>,
    element_kind: Kind,
) -> Vec<Value> {
    let named = sort_by(named, named_order, key, element_kind);
    let server_only = sort_by(server_only, server_order, key, element_kind);

    let mut left = server_only
        .into_iter()
        .map(|element| (position(server_order, &element, key, element_kind), element))
        .peekable();
    let mut right = named
        .into_iter()
        .map(|element| (position(server_order, &element, key, element_kind), element))
        .peekable();
    let mut ordered = Vec::with_capacity(left.len() + right.len());
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((l, _)), Some((r, _))) => matches!((l, r), (Some(l), Some(r)) if l < r),
        };
        let next = if take_left { left.next() } else { right.next() };
        ordered.extend(next.map(|(_, element)| element));
    }
    ordered
}

/// Sorts `elements` by their position in `wanted`; `$patch: delete` objects go last.
fn sort_by(
    elements: Vec<Value>,
    wanted: &[Identity],
    key: Option<&'static str>,
    element_kind: Kind,
) -> Vec<Value> {
    let (elements, deletions): (Vec<Value>, Vec<Value>) = if element_kind == Kind::Object {
        elements
            .into_iter()
            .partition(|element| element.get(PATCH).and_then(Value::as_str) != Some("delete"))
    } else {
        (elements, Vec::new())
    };
    let mut placed: Vec<(Option<usize>, Value)> = elements
        .into_iter()
        .map(|element| (position(wanted, &element, key, element_kind), element))
        .collect();
    if placed.iter().all(|(at, _)| at.is_some()) {
        placed.sort_by_key(|(at, _)| *at);
    } else {
        // Upstream's comparison holds an element it cannot place to be before any other;
        // that is no order, so reproduce what its insertion sort makes of it.
        for i in 1..placed.len() {
            let mut j = i;
            while j > 0 && before(placed[j].0, placed[j - 1].0) {
                placed.swap(j, j - 1);
                j -= 1;
            }
        }
    }
    placed
        .into_iter()
        .map(|(_, element)| element)
        .chain(deletions)
        .collect()
}

fn before(a: Option<usize>, b: Option<usize>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a < b,
        _ => true,
    }
}

/// Where `element` is in `order`.
fn position(
    order: &[Identity],
    element: &Value,
    key: Option<&'static str>,
    element_kind: Kind,
) -> Option<usize> {
    let id = if element_kind == Kind::Object {
        key.and_then(|key| element.get(key))
    } else {
        Some(element)
    };
    order.iter().position(|candidate| candidate.as_ref() == id)
}

fn missing_key(path: Path<'_>, key: &'static str, element: &Value) -> StrategicPatchError {
    StrategicPatchError::MissingMergeKey {
        at: path.describe(),
        key,
        element: element.to_string(),
    }
}

fn wrong_type(path: Path<'_>, expected: &'static str, found: &Value) -> StrategicPatchError {
    StrategicPatchError::WrongType {
        at: path.describe(),
        expected,
        found: type_name(found),
    }
}
