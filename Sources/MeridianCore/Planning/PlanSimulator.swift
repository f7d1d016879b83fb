/// Applies a plan to an observed state as a perfect fleet would: every action succeeds and every
/// deployment becomes ready. Used to ask "what would this converge to" (pull-request mode, drills)
/// without touching a region.
public enum PlanSimulator {
    public static func apply(_ plan: Plan, to observed: ObservedState, state: DesiredState) -> ObservedState {
        var out = observed
        func region(_ r: RegionName) -> RegionObservation { out.region(r, declared: state.regions[r]) }
        func usage(_ d: ObservedDeployment) -> (String, Int)? {
            state.models[ModelName(d.model)]?.accelerator.map { ($0.type, d.replicas * $0.count) }
        }
        func release(_ o: inout RegionObservation, _ d: ObservedDeployment?) {
            guard let d, let (type, n) = usage(d) else { return }
            o.capacity?[type]?.free += n
        }
        for a in plan.actions {
            var touched: [RegionName] = []
            switch a.kind {
            case .purge, .undeploy:
                guard let r = a.region else { continue }
                var o = region(r)
                if let p = a.placement {
                    release(&o, o.deployments.removeValue(forKey: p.rawValue))
                    o.traffic.removeValue(forKey: p.rawValue)
                }
                if let x = a.artifact { o.artifacts.removeValue(forKey: x.rawValue) }
                out.regions[r.rawValue] = o
                touched = [r]
            case .deleteArtifact:
                guard let r = a.region, let x = a.artifact else { continue }
                var o = region(r)
                o.artifacts.removeValue(forKey: x.rawValue)
                out.regions[r.rawValue] = o
                touched = [r]
            case .stageArtifact:
                guard let r = a.region, let x = a.artifact, let declared = state.artifacts[x] else { continue }
                var o = region(r)
                o.artifacts[x.rawValue] = ObservedArtifact(digest: declared.digest.value)
                out.regions[r.rawValue] = o
                touched = [r]
            case .deploy:
                guard let r = a.region, let p = a.placement, let m = a.model, let v = a.version, let n = a.replicas else { continue }
                var o = region(r)
                release(&o, o.deployments[p.rawValue])
                let d = ObservedDeployment(model: m.rawValue, version: v, replicas: n, ready: n)
                if let (type, used) = usage(d) { o.capacity?[type, default: AcceleratorCapacity(total: 0, free: 0)].free -= used }
                o.deployments[p.rawValue] = d
                out.regions[r.rawValue] = o
                touched = [r]
            case .setTraffic:
                guard let p = a.placement else { continue }
                for (r, w) in a.weights ?? [:] {
                    var o = region(r)
                    if w > 0 { o.traffic[p.rawValue] = w } else { o.traffic.removeValue(forKey: p.rawValue) }
                    out.regions[r.rawValue] = o
                    touched.append(r)
                }
            }
            for r in touched { out.regions[r.rawValue]?.generation += 1 }
        }
        return out
    }
}
