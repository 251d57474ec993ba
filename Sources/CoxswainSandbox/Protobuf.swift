import Foundation

/// The Kubernetes protobuf encoding, as far as helm uses it: helm's release storage writes
/// Secrets with `Content-Type: application/vnd.kubernetes.protobuf` (a `k8s\0` envelope
/// around `runtime.Unknown`, around the Secret). Decoded to the JSON the API would store.
enum KubernetesProtobuf {
    static let contentType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]  // "k8s\0"

    struct Malformed: Error {}

    /// The object in an envelope; only Secrets are understood (the one type helm sends so).
    static func decode(_ data: Data) throws -> JSON {
        let bytes = [UInt8](data)
        guard bytes.count >= 4, Array(bytes.prefix(4)) == magic else { throw Malformed() }
        var reader = Reader(bytes: bytes[4...])
        var kind = "", apiVersion = "", raw: ArraySlice<UInt8> = []
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .bytes(let typeMeta)):
                var meta = Reader(bytes: typeMeta)
                while let (metaField, metaValue) = try meta.next() {
                    if case .bytes(let text) = metaValue {
                        if metaField == 1 { apiVersion = String(decoding: text, as: UTF8.self) }
                        if metaField == 2 { kind = String(decoding: text, as: UTF8.self) }
                    }
                }
            case (2, .bytes(let body)): raw = body
            default: break
            }
        }
        guard kind == "Secret" else { throw Malformed() }
        var secret = try decodeSecret(raw)
        secret["kind"] = .string(kind)
        secret["apiVersion"] = .string(apiVersion)
        return secret
    }

    private static func decodeSecret(_ bytes: ArraySlice<UInt8>) throws -> JSON {
        var secret: JSON = [:]
        var data: [String: JSON] = [:]
        var reader = Reader(bytes: bytes)
        while let (field, value) = try reader.next() {
            guard case .bytes(let payload) = value else { continue }
            switch field {
            case 1: secret["metadata"] = try decodeObjectMeta(payload)
            case 2:
                let (key, value) = try mapEntry(payload)
                data[key] = .string(Data(value).base64EncodedString())
            case 3: secret["type"] = .string(String(decoding: payload, as: UTF8.self))
            case 4:
                let (key, value) = try mapEntry(payload)
                data[key] = .string(Data(value).base64EncodedString())
            default: break
            }
        }
        if !data.isEmpty { secret["data"] = .object(data) }
        return secret
    }

    private static func decodeObjectMeta(_ bytes: ArraySlice<UInt8>) throws -> JSON {
        var meta: JSON = [:]
        var labels: [String: String] = [:], annotations: [String: String] = [:]
        var reader = Reader(bytes: bytes)
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .bytes(let text)): meta["name"] = .string(String(decoding: text, as: UTF8.self))
            case (2, .bytes(let text)): meta["generateName"] = .string(String(decoding: text, as: UTF8.self))
            case (3, .bytes(let text)): meta["namespace"] = .string(String(decoding: text, as: UTF8.self))
            case (6, .bytes(let text)): meta["resourceVersion"] = .string(String(decoding: text, as: UTF8.self))
            case (11, .bytes(let entry)):
                let (key, value) = try mapEntry(entry)
                labels[key] = String(decoding: value, as: UTF8.self)
            case (12, .bytes(let entry)):
                let (key, value) = try mapEntry(entry)
                annotations[key] = String(decoding: value, as: UTF8.self)
            default: break
            }
        }
        if !labels.isEmpty { meta["labels"] = JSON(labels) }
        if !annotations.isEmpty { meta["annotations"] = JSON(annotations) }
        return meta
    }

    private static func mapEntry(_ bytes: ArraySlice<UInt8>) throws -> (String, ArraySlice<UInt8>) {
        var reader = Reader(bytes: bytes)
        var key = "", value: ArraySlice<UInt8> = []
        while let (field, part) = try reader.next() {
            guard case .bytes(let payload) = part else { continue }
            if field == 1 { key = String(decoding: payload, as: UTF8.self) }
            if field == 2 { value = payload }
        }
        return (key, value)
    }

    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed
    }

    /// Protocol buffers' wire format: (field number, wire type) keys, then the value.
    struct Reader {
        var bytes: ArraySlice<UInt8>

        mutating func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while let byte = bytes.first {
                bytes = bytes.dropFirst()
                guard shift < 64 else { throw Malformed() }
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
            throw Malformed()
        }

        mutating func next() throws -> (Int, Value)? {
            guard !bytes.isEmpty else { return nil }
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: return (field, .varint(try varint()))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.count) else { throw Malformed() }
                let payload = bytes.prefix(Int(length))
                bytes = bytes.dropFirst(Int(length))
                return (field, .bytes(payload))
            case 1:
                guard bytes.count >= 8 else { throw Malformed() }
                bytes = bytes.dropFirst(8)
                return (field, .fixed)
            case 5:
                guard bytes.count >= 4 else { throw Malformed() }
                bytes = bytes.dropFirst(4)
                return (field, .fixed)
            default: throw Malformed()
            }
        }
    }
}
