import Foundation

/// NumPy's `.npy` format (numpy.lib.format), the subset datasets use: one C-ordered array of
/// integers. A file is the magic `\x93NUMPY`, a major and a minor version byte, the header's
/// length (version 1.0: 2 bytes little-endian; 2.0 and 3.0: 4 bytes), the header (a Python dict
/// literal such as `{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }`), then
/// the array's bytes. Parsed here by hand so that nothing of Python is needed.
public enum NPY {
    /// Headers longer than this are refused before they are read (NumPy's own default limit is 10 000).
    static let maximumHeaderLength = 1 << 20
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// An integer element type: `descr` such as `|u1`, `<i8`, `>i4`.
    public struct ElementType: Equatable, Sendable, CustomStringConvertible {
        public var signed: Bool
        public var size: Int
        public var bigEndian: Bool

        public var description: String {
            (size == 1 ? "|" : bigEndian ? ">" : "<") + (signed ? "i" : "u") + "\(size)"
        }

        public static let uint8 = ElementType(signed: false, size: 1, bigEndian: false)
        public static let int64 = ElementType(signed: true, size: 8, bigEndian: false)

        /// Element `index` of `bytes` (which start at element 0) as an Int64; UInt64 values above
        /// Int64.max come back as nil.
        func value(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int64? {
            var raw: UInt64 = 0
            let start = index * size
            for k in 0..<size {
                let byte = UInt64(bytes[start + (bigEndian ? k : size - 1 - k)])
                raw = (raw << 8) | byte
            }
            if signed {
                let shift = UInt64(64 - 8 * size)
                return Int64(bitPattern: raw << shift) >> Int64(shift)
            }
            return raw <= UInt64(Int64.max) ? Int64(raw) : nil
        }
    }

    /// What a header says, and where the array's bytes start.
    public struct Header: Equatable, Sendable {
        public var type: ElementType
        public var shape: [Int]
        /// Bytes before the array: magic, version, length field and header.
        public var dataOffset: Int

        /// Elements in the array (1 for a 0-dimensional one), or nil on overflow.
        public var elementCount: Int? {
            var count = 1
            for side in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: side)
                if overflow { return nil }
                count = product
            }
            return count
        }

        /// Bytes of the array, or nil on overflow.
        public var dataLength: Int? {
            guard let count = elementCount else { return nil }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: type.size)
            return overflow ? nil : bytes
        }

        /// "(60000, 28, 28)"
        public var shapeText: String {
            "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
        }
    }

    // MARK: - Reading

    /// How many leading bytes `parseHeader` needs: the fixed part, then (once known) the whole header.
    static let fixedLength = 12

    /// Parses the header at the start of `bytes` (the file's first bytes: at least the whole
    /// header; `path` names the file in errors). Refuses, in one line each: a missing magic, an
    /// unknown version, a header longer than the bytes given or than `maximumHeaderLength`, a
    /// malformed dict, a `descr` that is not a plain integer type, `fortran_order: True`, a
    /// negative or non-integer shape entry.
    public static func parseHeader(_ bytes: [UInt8], path: String) throws -> Header {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw UserError("\(path): not a NumPy .npy file (no \\x93NUMPY magic at its start)")
        }
        let major = bytes[6], minor = bytes[7]
        let lengthField: Int
        switch major {
        case 1: lengthField = 2
        case 2, 3: lengthField = 4
        default: throw UserError("\(path): .npy format version \(major).\(minor) is not supported (1.0, 2.0 and 3.0 are)")
        }
        guard bytes.count >= 8 + lengthField else { throw UserError("\(path): truncated .npy header") }
        var headerLength = 0
        for k in (0..<lengthField).reversed() { headerLength = (headerLength << 8) | Int(bytes[8 + k]) }
        guard headerLength <= maximumHeaderLength else {
            throw UserError("\(path): .npy header of \(headerLength) bytes, more than the \(maximumHeaderLength) accepted")
        }
        let start = 8 + lengthField
        guard bytes.count >= start + headerLength else {
            throw UserError("\(path): truncated .npy header (\(headerLength) bytes announced, \(bytes.count - start) present)")
        }
        // Versions 1 and 2 are Latin-1, version 3 UTF-8; every character that matters is ASCII.
        let text = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        var parser = HeaderParser(text: Array(text.unicodeScalars), path: path)
        let fields = try parser.dictionary()
        let keys = Set(fields.keys)
        guard keys == ["descr", "fortran_order", "shape"] else {
            let missing = ["descr", "fortran_order", "shape"].filter { !keys.contains($0) }
            let extra = keys.subtracting(["descr", "fortran_order", "shape"]).sorted()
            throw UserError("\(path): .npy header must hold exactly 'descr', 'fortran_order' and 'shape'"
                + (missing.isEmpty ? "" : "; missing \(missing.joined(separator: ", "))")
                + (extra.isEmpty ? "" : "; unexpected \(extra.joined(separator: ", "))"))
        }
        guard case .string(let descr)? = fields["descr"] else {
            throw UserError("\(path): .npy 'descr' is not a simple type string (structured arrays are not supported)")
        }
        guard case .boolean(let fortran)? = fields["fortran_order"] else {
            throw UserError("\(path): .npy 'fortran_order' must be True or False")
        }
        guard !fortran else {
            throw UserError("\(path): array is stored in Fortran (column-major) order; save it C-ordered (numpy.ascontiguousarray) first")
        }
        guard case .tuple(let shape)? = fields["shape"] else {
            throw UserError("\(path): .npy 'shape' must be a tuple of integers")
        }
        return Header(type: try elementType(descr, path: path), shape: shape, dataOffset: start + headerLength)
    }

    /// `|u1`, `<i8`, `>u2`, …: integers of 1, 2, 4 or 8 bytes in a stated byte order.
    static func elementType(_ descr: String, path: String) throws -> ElementType {
        var scalars = Substring(descr)
        var order: Character = "|"
        if let first = scalars.first, "<>|=".contains(first) { order = first; scalars = scalars.dropFirst() }
        guard let kind = scalars.first, kind == "i" || kind == "u", let size = Int(scalars.dropFirst()),
              [1, 2, 4, 8].contains(size) else {
            throw UserError("\(path): .npy element type '\(descr)' is not supported (integers such as |u1, <i4, <i8)")
        }
        guard size == 1 || order == "<" || order == ">" else {
            throw UserError("\(path): .npy element type '\(descr)' has no byte order (< or >)")
        }
        // One byte has no order: '>u1' and '|u1' are the same type.
        return ElementType(signed: kind == "i", size: size, bigEndian: size > 1 && order == ">")
    }

    /// An open `.npy` file whose header has been read and whose length matches it.
    final class File {
        let path: String
        let header: Header
        private let handle: UnsafeMutablePointer<FILE>

        /// Opens `path`, parses its header, and checks the file holds exactly the array's bytes.
        init(path: String) throws {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw UserError("\(path): file not found")
            }
            guard !isFolder.boolValue else { throw UserError("\(path): is a folder, expected a .npy file") }
            guard let handle = fopen(path, "rb") else { throw UserError("\(path): cannot be read (permissions?)") }
            var opened = false
            defer { if !opened { fclose(handle) } }
            fseeko(handle, 0, SEEK_END)
            let size = Int(ftello(handle))
            fseeko(handle, 0, SEEK_SET)
            var prefix = [UInt8](repeating: 0, count: min(size, NPY.fixedLength))
            try File.read(handle, into: &prefix, path: path)
            // The length field is 2 bytes in version 1.0, 4 after; read the header it announces.
            var headerEnd = prefix.count >= 8 && prefix[6] == 1 ? 10 : NPY.fixedLength
            if prefix.count >= headerEnd, Array(prefix.prefix(6)) == NPY.magic {
                var headerLength = 0
                for k in (8..<headerEnd).reversed() { headerLength = (headerLength << 8) | Int(prefix[k]) }
                headerEnd += min(headerLength, NPY.maximumHeaderLength + 1)
            }
            if min(headerEnd, size) > prefix.count {
                var rest = [UInt8](repeating: 0, count: min(headerEnd, size) - prefix.count)
                try File.read(handle, into: &rest, path: path)
                prefix += rest
            }
            let header = try NPY.parseHeader(prefix, path: path)
            guard let length = header.dataLength else {
                throw UserError("\(path): .npy shape \(header.shapeText) of \(header.type) is too large to address")
            }
            let found = size - header.dataOffset
            guard found == length else {
                throw UserError("\(path): shape \(header.shapeText) of \(header.type) needs \(length) bytes after the header, "
                    + "the file holds \(found)" + (found < length ? " (truncated?)" : ""))
            }
            fseeko(handle, off_t(header.dataOffset), SEEK_SET)
            self.path = path
            self.handle = handle
            self.header = header
            opened = true
        }

        deinit { fclose(handle) }

        /// Reads the next `buffer.count` bytes of the array.
        func read(into buffer: inout [UInt8]) throws { try File.read(handle, into: &buffer, path: path) }

        private static func read(_ handle: UnsafeMutablePointer<FILE>, into buffer: inout [UInt8], path: String) throws {
            guard !buffer.isEmpty else { return }
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            guard count == buffer.count else { throw UserError("\(path): read \(count) of \(buffer.count) bytes (file changed while read?)") }
        }
    }

    // MARK: - Writing

    /// The header of a version 1.0 file holding a C-ordered array of `type` and `shape`, padded
    /// with spaces and a newline so the array starts at a multiple of 64 bytes, as NumPy writes it.
    public static func header(type: ElementType, shape: [Int]) -> [UInt8] {
        let shapeText = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
        var dict = "{'descr': '\(type)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = dict.utf8.count
        precondition(length <= 0xFFFF, "NPY.header: shape too long for version 1.0")
        return magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    // MARK: - The header's dict literal

    enum Value { case string(String), boolean(Bool), tuple([Int]) }

    /// Python literals as `repr` writes them in a header: strings in single or double quotes,
    /// True, False, tuples of non-negative integers (a trailing `L` of Python 2 allowed).
    struct HeaderParser {
        let text: [Unicode.Scalar]
        let path: String
        var position = 0

        init(text: [Unicode.Scalar], path: String) {
            self.text = text
            self.path = path
        }

        func fail(_ what: String) -> UserError {
            UserError("\(path): malformed .npy header (\(what) at character \(position))")
        }

        mutating func skipSpace() {
            while position < text.count, text[position].properties.isWhitespace { position += 1 }
        }

        mutating func accept(_ scalar: Unicode.Scalar) -> Bool {
            skipSpace()
            guard position < text.count, text[position] == scalar else { return false }
            position += 1
            return true
        }

        mutating func dictionary() throws -> [String: Value] {
            guard accept("{") else { throw fail("expected '{'") }
            var fields: [String: Value] = [:]
            while !accept("}") {
                let key = try string()
                guard accept(":") else { throw fail("expected ':' after '\(key)'") }
                guard fields[key] == nil else { throw fail("key '\(key)' repeated") }
                fields[key] = try value()
                if !accept(",") {
                    guard accept("}") else { throw fail("expected ',' or '}'") }
                    break
                }
            }
            skipSpace()
            guard position == text.count else { throw fail("text after the closing '}'") }
            return fields
        }

        mutating func string() throws -> String {
            skipSpace()
            guard position < text.count, text[position] == "'" || text[position] == "\"" else { throw fail("expected a quoted string") }
            let quote = text[position]
            position += 1
            var value = String.UnicodeScalarView()
            while position < text.count, text[position] != quote {
                guard text[position] != "\\" else { throw fail("escapes in strings are not supported") }
                value.append(text[position])
                position += 1
            }
            guard position < text.count else { throw fail("unterminated string") }
            position += 1
            return String(value)
        }

        mutating func value() throws -> Value {
            skipSpace()
            guard position < text.count else { throw fail("expected a value") }
            switch text[position] {
            case "'", "\"": return .string(try string())
            case "(": return .tuple(try tuple())
            case "[": throw fail("a list (a structured dtype?) is not supported")
            default:
                for (word, flag) in [("True", true), ("False", false)] where matches(word) {
                    position += word.unicodeScalars.count
                    return .boolean(flag)
                }
                throw fail("expected a string, a tuple, True or False")
            }
        }

        func matches(_ word: String) -> Bool {
            let scalars = Array(word.unicodeScalars)
            return position + scalars.count <= text.count && Array(text[position..<(position + scalars.count)]) == scalars
        }

        mutating func tuple() throws -> [Int] {
            guard accept("(") else { throw fail("expected '('") }
            var items: [Int] = []
            while !accept(")") {
                skipSpace()
                var digits = ""
                while position < text.count, ("0"..."9").contains(text[position]) {
                    digits.unicodeScalars.append(text[position])
                    position += 1
                }
                guard let item = Int(digits) else { throw fail("expected a non-negative integer in the shape") }
                if position < text.count, text[position] == "L" { position += 1 }
                items.append(item)
                if !accept(",") {
                    guard accept(")") else { throw fail("expected ',' or ')' in the shape") }
                    break
                }
            }
            return items
        }
    }
}
