import ServiceLifecycle

/// Runs every configured function, one task each, until graceful shutdown; started after
/// the engine and the exports, stopped before the engine closes. At stop the batches
/// running end (within 10 s, then their handlers are stopped) and what they finished is
/// committed; the rest runs again at the next start.
public struct FunctionService: Service {
    let functions: [FunctionRunner]

    public init(functions: [FunctionRunner]) {
        self.functions = functions
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for function in functions {
                group.addTask { await function.run() }
            }
            try? await gracefulShutdown()
            await withTaskGroup(of: Void.self) { finishing in
                for function in functions { finishing.addTask { await function.finish(within: .seconds(10)) } }
            }
            group.cancelAll()
        }
    }
}
