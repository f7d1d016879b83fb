public import MeridianCore

// The region agent protocol's bodies (schemas/region-agent.openapi.yaml) read and written
// without Foundation: an apply sends a command and reads an answer and an observation for every
// action, and `JSONEncoder`/`JSONDecoder` were about a seventh of the CPU of an apply against
// agents on loopback. The JSON is the same as the `Codable` forms (absent optionals are left
// out), and those forms still read it.

extension ExecutionResult {
    public init(json bytes: some Collection<UInt8>) throws(JSONError) {
        let f = try JSONFields(JSONReader.parse(bytes), path: "")
        self.init(generation: try f.int("generation"), replayed: try f.bool("replayed"),
                  deployment: try f.optional("deployment").map { v throws(JSONError) in try ObservedDeployment(fields: JSONFields(v, path: "deployment")) })
    }

    public func json() -> String {
        var w = JSONWriter(pretty: false)
        w.beginObject()
        if let deployment { w.key("deployment"); deployment.write(into: &w) }
        w.key("generation"); w.int(generation)
        w.key("replayed"); w.raw(replayed ? "true" : "false")
        w.endObject()
        return w.finish()
    }
}

extension RegionCommand {
    init(fields c: JSONFields) throws(JSONError) {
        let typeName = try c.string("type")
        guard let type = Action.Kind(rawValue: typeName) else { throw JSONError("\(c.path).type: '\(typeName)' is not an action type") }
        self.init(type: type, region: try c.string("region"), actionID: try c.string("actionID"),
                  artifact: try c.stringIfPresent("artifact"), digest: try c.stringIfPresent("digest"), from: try c.stringIfPresent("from"),
                  placement: try c.stringIfPresent("placement"), model: try c.stringIfPresent("model"), version: try c.stringIfPresent("version"),
                  replicas: try c.intIfPresent("replicas"),
                  accelerator: try c.optional("accelerator").map { v throws(JSONError) in
                      let a = try JSONFields(v, path: "\(c.path).accelerator")
                      return AcceleratorDemand(type: try a.string("type"), count: try a.int("count"))
                  },
                  weight: try c.intIfPresent("weight"),
                  fence: try c.arrayIfPresent("fence") { v, path throws(JSONError) in try JSONFields.string(v, path) })
    }

    func write(into w: inout JSONWriter) {
        w.beginObject()
        if let accelerator {
            w.key("accelerator")
            w.beginObject()
            w.key("count"); w.int(accelerator.count)
            w.key("type"); w.string(accelerator.type)
            w.endObject()
        }
        w.key("actionID"); w.string(actionID)
        if let artifact { w.key("artifact"); w.string(artifact) }
        if let digest { w.key("digest"); w.string(digest) }
        if let fence {
            w.key("fence")
            w.beginArray()
            for j in fence { w.string(j) }
            w.endArray()
        }
        if let from { w.key("from"); w.string(from) }
        if let model { w.key("model"); w.string(model) }
        if let placement { w.key("placement"); w.string(placement) }
        w.key("region"); w.string(region)
        if let replicas { w.key("replicas"); w.int(replicas) }
        w.key("type"); w.string(type.rawValue)
        if let version { w.key("version"); w.string(version) }
        if let weight { w.key("weight"); w.int(weight) }
        w.endObject()
    }
}

extension AgentExecuteRequest {
    public init(json bytes: some Collection<UInt8>) throws(JSONError) {
        let f = try JSONFields(JSONReader.parse(bytes), path: "")
        self.init(idempotencyKey: try f.string("idempotencyKey"), command: try RegionCommand(fields: JSONFields(f.required("command"), path: "command")))
    }

    public func json() -> String {
        var w = JSONWriter(pretty: false)
        w.beginObject()
        w.key("command"); command.write(into: &w)
        w.key("idempotencyKey"); w.string(idempotencyKey)
        w.endObject()
        return w.finish()
    }
}
