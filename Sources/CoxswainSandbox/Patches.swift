import Foundation

/// The patch types the Kubernetes API accepts, as helm and kubectl send them.
enum PatchType: String, Sendable {
    case merge = "application/merge-patch+json"
    case strategic = "application/strategic-merge-patch+json"
    case json = "application/json-patch+json"
    case apply = "application/apply-patch+yaml"

    init?(contentType: String?) {
        guard let contentType else { return nil }
        let bare = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        self.init(rawValue: bare)
    }
}

struct PatchFailure: Error {
    let message: String
}

enum Patches {
    /// RFC 7386: objects merge, `null` removes, anything else replaces.
    static func merge(_ target: JSON, _ patch: JSON) -> JSON {
        guard let members = patch.object else { return patch }
        var result = target.object == nil ? JSON.object([:]) : target
        for (key, value) in members {
            result[key] = value == .null ? .null : merge(result[key], value)
        }
        return result
    }

    /// The merge key of the lists Kubernetes merges element by element (the rest are
    /// replaced whole), from the `patchMergeKey` tags of the built-in types this sandbox serves.
    static func mergeKey(list: String, elements: [JSON]) -> String? {
        switch list {
        case "containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets", "conditions":
            return list == "conditions" ? "type" : "name"
        case "volumeMounts": return "mountPath"
        case "ports": return elements.contains { $0["containerPort"] != .null } ? "containerPort" : "port"
        case "ownerReferences": return "uid"
        default: return nil
        }
    }

    /// A strategic merge patch: like a merge patch, but lists with a merge key merge element
    /// by element, and the `$patch`, `$setElementOrder`, `$retainKeys` directives apply.
    static func strategic(_ target: JSON, _ patch: JSON, field: String = "") -> JSON {
        guard let members = patch.object else { return patch }
        if members["$patch"]?.string == "replace" {
            var replaced = patch
            replaced["$patch"] = .null
            return replaced
        }
        var result = target.object == nil ? JSON.object([:]) : target
        for (key, value) in members where !key.hasPrefix("$") {
            if key.hasPrefix("$setElementOrder/") || key.hasPrefix("$deleteFromPrimitiveList/") || key.hasPrefix("$retainKeys") { continue }
            if value == .null {
                result[key] = .null
            } else if let patchList = value.array, let current = result[key].array,
                let mergeKey = mergeKey(list: key, elements: current + patchList)
            {
                result[key] = .array(mergeList(current, patchList, key: mergeKey))
            } else if value.object != nil {
                result[key] = strategic(result[key], value, field: key)
            } else {
                result[key] = value
            }
        }
        for (key, value) in members where key.hasPrefix("$deleteFromPrimitiveList/") {
            let list = String(key.dropFirst("$deleteFromPrimitiveList/".count))
            let remove = value.array ?? []
            result[list] = .array((result[list].array ?? []).filter { !remove.contains($0) })
        }
        return result
    }

    private static func mergeList(_ current: [JSON], _ patch: [JSON], key: String) -> [JSON] {
        var merged = current
        for element in patch {
            let id = element[key]
            let index = merged.firstIndex { $0[key] == id }
            if element["$patch"].string == "delete" {
                if let index { merged.remove(at: index) }
            } else if let index {
                merged[index] = strategic(merged[index], element)
            } else {
                merged.append(element)
            }
        }
        return merged
    }

    /// RFC 6902 (kubectl rollout undo sends `replace` operations).
    static func jsonPatch(_ target: JSON, _ operations: JSON) throws -> JSON {
        guard let list = operations.array else { throw PatchFailure(message: "a JSON patch must be a list of operations") }
        var result = target
        for operation in list {
            guard let op = operation["op"].string, let path = operation["path"].string else {
                throw PatchFailure(message: "each JSON patch operation needs op and path")
            }
            let pointer = try pointerTokens(path)
            switch op {
            case "add", "replace":
                if op == "replace", value(result, at: pointer) == nil {
                    throw PatchFailure(message: "replace operation does not apply: doc is missing path: \(path)")
                }
                result = try setting(result, at: pointer[...], to: operation["value"], inserting: op == "add")
            case "remove":
                guard value(result, at: pointer) != nil else { throw PatchFailure(message: "remove operation does not apply: doc is missing path: \(path)") }
                result = try removing(result, at: pointer[...])
            case "test":
                guard value(result, at: pointer) == operation["value"] else { throw PatchFailure(message: "testing value \(path) failed") }
            default:
                throw PatchFailure(message: "unsupported JSON patch operation \(op)")
            }
        }
        return result
    }

    private static func pointerTokens(_ path: String) throws -> [String] {
        guard path.hasPrefix("/") else { throw PatchFailure(message: "a JSON pointer starts with /: \(path)") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func value(_ json: JSON, at pointer: [String]) -> JSON? {
        var current = json
        for token in pointer {
            if let list = current.array {
                guard let index = Int(token), list.indices.contains(index) else { return nil }
                current = list[index]
            } else if let members = current.object, let next = members[token] {
                current = next
            } else {
                return nil
            }
        }
        return current
    }

    private static func setting(_ json: JSON, at pointer: ArraySlice<String>, to newValue: JSON, inserting: Bool) throws -> JSON {
        guard let token = pointer.first else { return newValue }
        if var list = json.array {
            if token == "-", pointer.count == 1 { return .array(list + [newValue]) }
            guard let index = Int(token), index >= 0, index <= list.count else { throw PatchFailure(message: "index \(token) out of range") }
            if pointer.count == 1 {
                if inserting { list.insert(newValue, at: index) } else if index < list.count { list[index] = newValue }
                return .array(list)
            }
            list[index] = try setting(list[index], at: pointer.dropFirst(), to: newValue, inserting: inserting)
            return .array(list)
        }
        var copy = json.object == nil ? JSON.object([:]) : json
        copy[token] = try setting(json[token], at: pointer.dropFirst(), to: newValue, inserting: inserting)
        return copy
    }

    private static func removing(_ json: JSON, at pointer: ArraySlice<String>) throws -> JSON {
        guard let token = pointer.first else { return .null }
        if var list = json.array, let index = Int(token), list.indices.contains(index) {
            if pointer.count == 1 { list.remove(at: index) } else { list[index] = try removing(list[index], at: pointer.dropFirst()) }
            return .array(list)
        }
        var copy = json
        if pointer.count == 1 {
            var members = copy.object ?? [:]
            members[token] = nil
            return .object(members)
        }
        copy[token] = try removing(json[token], at: pointer.dropFirst())
        return copy
    }
}
