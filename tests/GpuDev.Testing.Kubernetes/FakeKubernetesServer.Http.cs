using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace GpuDev.Testing.Kubernetes;

public sealed partial class FakeKubernetesServer
{
    private sealed record RequestTarget(ResourceInfo Resource, string? Namespace, string? Name, string? Subresource, bool WatchPath);

    private async Task HandleAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _requestCount);
        try
        {
            await DispatchAsync(ctx).ConfigureAwait(false);
        }
        catch (KubeApiException e)
        {
            await WriteStatusAsync(ctx, e).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await WriteStatusAsync(ctx, KubeApiException.BadRequest($"the body of the request was in an unknown format: {e.Message}")).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            // Client went away or the server is stopping.
        }
        catch (Exception e)
        {
            LogRequestFailure(_logger, ctx.Request.Method, ctx.Request.Path.Value ?? "", e);
            await WriteStatusAsync(ctx, new KubeApiException(500, "InternalError", $"Internal error occurred: {e.Message}")).ConfigureAwait(false);
        }
    }

    private static async Task WriteStatusAsync(HttpContext ctx, KubeApiException e)
    {
        if (ctx.Response.HasStarted)
        {
            return;
        }

        await WriteJsonAsync(ctx, e.Code, e.ToStatus()).ConfigureAwait(false);
    }

    private static async Task WriteJsonAsync(HttpContext ctx, int code, JsonNode body)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted).ConfigureAwait(false);
    }

    private async Task DispatchAsync(HttpContext ctx)
    {
        var segments = (ctx.Request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var method = ctx.Request.Method;
        if (method == "GET" && Discovery(segments) is { } discovery)
        {
            await WriteJsonAsync(ctx, 200, discovery).ConfigureAwait(false);
            return;
        }

        var target = ParseTarget(segments);
        var query = ctx.Request.Query;
        var r = target.Resource;
        var ns = target.Namespace;
        switch (method)
        {
            case "GET" when target.Name is null:
            {
                var watch = target.WatchPath || query["watch"] == "true" || query["watch"] == "1";
                if (watch)
                {
                    await WatchAsync(ctx, r, ns).ConfigureAwait(false);
                }
                else
                {
                    await WriteJsonAsync(ctx, 200, ListObject(r, ns, query)).ConfigureAwait(false);
                }

                return;
            }

            case "GET" when target.Subresource == "log" && r == ResourceInfo.Pods:
                await WriteLogAsync(ctx, ns!, target.Name).ConfigureAwait(false);
                return;
            case "GET" when target.Subresource is null or "status":
                await WriteJsonAsync(ctx, 200, GetObject(r, ns, target.Name)).ConfigureAwait(false);
                return;
            case "POST" when target.Name is null:
            {
                if (r.Namespaced && ns is null)
                {
                    throw KubeApiException.MethodNotAllowed("create");
                }

                var body = await ReadBodyAsync(ctx).ConfigureAwait(false) as JsonObject ?? throw KubeApiException.BadRequest("the body must be an object");
                CheckBodyNamespace(body, ns);
                JsonObject created;
                lock (_gate)
                {
                    created = CreateLocked(r, ns ?? "", body).Clone();
                }

                await WriteJsonAsync(ctx, 201, created).ConfigureAwait(false);
                return;
            }

            case "PUT" when target.Name is not null && target.Subresource is null or "status":
            {
                var targetName = target.Name ?? throw KubeApiException.MethodNotAllowed("update");
                var body = await ReadBodyAsync(ctx).ConfigureAwait(false) as JsonObject ?? throw KubeApiException.BadRequest("the body must be an object");
                CheckBodyNamespace(body, ns);
                var name = body.Str("metadata", "name");
                if (name != targetName)
                {
                    throw new KubeApiException(400, "BadRequest", $"the name of the object ({name}) does not match the name on the URL ({target.Name})");
                }

                await WriteJsonAsync(ctx, 200, Replace(r, ns, targetName, body, target.Subresource == "status")).ConfigureAwait(false);
                return;
            }

            case "PATCH" when target.Name is not null && target.Subresource is null or "status":
            {
                var targetName = target.Name ?? throw KubeApiException.MethodNotAllowed("patch");
                var contentType = (ctx.Request.ContentType ?? "").Split(';')[0].Trim();
                var patch = await ReadBodyAsync(ctx).ConfigureAwait(false);
                if (contentType == "application/apply-patch+yaml")
                {
                    if (string.IsNullOrEmpty(query["fieldManager"]))
                    {
                        throw KubeApiException.BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
                    }

                    var (applied, created) = Apply(r, ns, targetName, patch as JsonObject ?? throw KubeApiException.BadRequest("apply patch must be an object"), target.Subresource == "status");
                    await WriteJsonAsync(ctx, created ? 201 : 200, applied).ConfigureAwait(false);
                    return;
                }

                await WriteJsonAsync(ctx, 200, Patch(r, ns, targetName, patch, contentType, target.Subresource == "status")).ConfigureAwait(false);
                return;
            }

            case "DELETE" when target.Name is not null && target.Subresource is null:
            {
                var options = await ReadOptionalBodyAsync(ctx).ConfigureAwait(false);
                var (result, warning) = DeleteRequest(r, ns, target.Name, options, query);
                if (warning is not null)
                {
                    ctx.Response.Headers.Append("Warning", $"299 - \"{warning}\"");
                }

                await WriteJsonAsync(ctx, 200, result).ConfigureAwait(false);
                return;
            }

            case "DELETE" when target.Name is null:
            {
                if (r.Namespaced && ns is null)
                {
                    throw KubeApiException.MethodNotAllowed("deletecollection");
                }

                var options = await ReadOptionalBodyAsync(ctx).ConfigureAwait(false);
                await WriteJsonAsync(ctx, 200, DeleteCollection(r, ns, options, query)).ConfigureAwait(false);
                return;
            }

            default:
                throw KubeApiException.MethodNotAllowed(method.ToLowerInvariant());
        }
    }

    private static void CheckBodyNamespace(JsonObject body, string? ns)
    {
        var bodyNs = body.Str("metadata", "namespace");
        if (ns is not null && !string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
        {
            throw KubeApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }
    }

    private static async Task<JsonNode?> ReadBodyAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var text = await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw KubeApiException.BadRequest("the request body is empty");
        }

        return JsonNode.Parse(text);
    }

    private static async Task<JsonObject?> ReadOptionalBodyAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var text = await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
        return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text) as JsonObject;
    }

    private static RequestTarget ParseTarget(string[] s)
    {
        string group, version;
        int rest;
        if (s.Length >= 2 && s[0] == "api")
        {
            (group, version, rest) = ("", s[1], 2);
        }
        else if (s.Length >= 3 && s[0] == "apis")
        {
            (group, version, rest) = (s[1], s[2], 3);
        }
        else
        {
            throw KubeApiException.ResourceNotFound();
        }

        var parts = s[rest..];
        var watchPath = false;
        if (parts.Length > 0 && parts[0] == "watch")
        {
            watchPath = true;
            parts = parts[1..];
        }

        string? ns = null;
        if (parts.Length >= 3 && parts[0] == "namespaces")
        {
            ns = parts[1];
            parts = parts[2..];
        }

        if (parts.Length is 0 or > 3)
        {
            throw KubeApiException.ResourceNotFound();
        }

        var r = ResourceInfo.Find(group, version, parts[0]) ?? throw KubeApiException.ResourceNotFound();
        if ((ns is not null && !r.Namespaced) || (ns is null && r.Namespaced && parts.Length > 1))
        {
            throw KubeApiException.ResourceNotFound();
        }

        var name = parts.Length > 1 ? parts[1] : null;
        var sub = parts.Length > 2 ? parts[2] : null;
        if (sub is not null && !r.Subresources.Contains(sub))
        {
            throw KubeApiException.ResourceNotFound();
        }

        return new RequestTarget(r, ns, name, sub, watchPath);
    }

    private JsonObject GetObject(ResourceInfo r, string? ns, string name)
    {
        lock (_gate)
        {
            if (r == ResourceInfo.Namespaces && Find(r, null, name) is null)
            {
                return ImplicitNamespace(name);
            }

            return (Find(r, ns, name) ?? throw KubeApiException.NotFound(r, name)).Clone();
        }
    }

    private JsonObject ImplicitNamespace(string name) => new()
    {
        ["kind"] = "Namespace",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["uid"] = new Guid(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(name))).ToString(),
            ["resourceVersion"] = "1",
            ["creationTimestamp"] = "2025-01-01T00:00:00Z",
            ["labels"] = new JsonObject { ["kubernetes.io/metadata.name"] = name },
        },
        ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") },
        ["status"] = new JsonObject { ["phase"] = "Active" },
    };

    private JsonObject ListObject(ResourceInfo r, string? ns, IQueryCollection query)
    {
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"], r);
        var items = new JsonArray();
        string rv;
        string? continueToken = null;
        var remaining = 0;
        lock (_gate)
        {
            IEnumerable<JsonObject> source = Items(r, ns);
            if (r == ResourceInfo.Namespaces)
            {
                source = AllNamespacesLocked();
            }

            var selected = source.Where(o => labels.Matches(o) && fields.Matches(o));
            var after = (string?)query["continue"];
            if (!string.IsNullOrEmpty(after))
            {
                string from;
                try
                {
                    from = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(after));
                }
                catch (FormatException)
                {
                    throw KubeApiException.BadRequest("continue key is not valid: illegal base64 data");
                }

                selected = selected.Where(o => string.CompareOrdinal(Key(o.Str("metadata", "namespace"), o.Str("metadata", "name")!), from) > 0);
            }

            var all = selected.ToList();
            if (int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0 && all.Count > limit)
            {
                var last = all[limit - 1];
                continueToken = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Key(last.Str("metadata", "namespace"), last.Str("metadata", "name")!)));
                remaining = all.Count - limit;
                all = all.Take(limit).ToList();
            }

            foreach (var o in all)
            {
                var item = o.Clone();
                if (r.BuiltIn)
                {
                    item.Remove("kind");
                    item.Remove("apiVersion");
                }

                items.Add(item);
            }

            rv = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        }

        var meta = new JsonObject { ["resourceVersion"] = rv };
        if (continueToken is not null)
        {
            meta["continue"] = continueToken;
            meta["remainingItemCount"] = remaining;
        }

        return new JsonObject
        {
            ["kind"] = r.ListKind,
            ["apiVersion"] = r.ApiVersion,
            ["metadata"] = meta,
            ["items"] = items,
        };
    }

    private List<JsonObject> AllNamespacesLocked()
    {
        var result = _store[ResourceInfo.Namespaces].Values.ToDictionary(o => o.Str("metadata", "name")!, o => o, StringComparer.Ordinal);
        var names = new SortedSet<string>(StringComparer.Ordinal) { "default", "kube-system" };
        foreach (var r in ResourceInfo.All.Where(r => r.Namespaced))
        {
            foreach (var o in _store[r].Values)
            {
                names.Add(o.Str("metadata", "namespace") ?? "default");
            }
        }

        names.UnionWith(result.Keys);
        return names.Select(n => result.TryGetValue(n, out var o) ? o : ImplicitNamespace(n)).ToList();
    }

    private async Task WriteLogAsync(HttpContext ctx, string ns, string name)
    {
        string text;
        lock (_gate)
        {
            if (Find(ResourceInfo.Pods, ns, name) is null)
            {
                throw KubeApiException.NotFound(ResourceInfo.Pods, name);
            }

            text = _podLogs.GetValueOrDefault($"{ns}/{name}", "");
        }

        if (int.TryParse(ctx.Request.Query["tailLines"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var tail) && tail >= 0)
        {
            var lines = text.Split('\n');
            var hasFinalNewline = text.EndsWith('\n');
            var content = hasFinalNewline ? lines[..^1] : lines;
            text = string.Join('\n', content.TakeLast(tail)) + (hasFinalNewline && tail > 0 ? "\n" : "");
        }

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain";
        await ctx.Response.WriteAsync(text, ctx.RequestAborted).ConfigureAwait(false);
    }

    private JsonObject Replace(ResourceInfo r, string? ns, string name, JsonObject body, bool statusOnly)
    {
        lock (_gate)
        {
            var old = Find(r, ns, name) ?? throw KubeApiException.NotFound(r, name);
            var expected = body.Str("metadata", "resourceVersion");
            if (!string.IsNullOrEmpty(expected) && expected != old.Str("metadata", "resourceVersion"))
            {
                throw KubeApiException.Conflict(r, name);
            }

            return ApplyUpdateLocked(r, old, body, statusOnly).Clone();
        }
    }

    private JsonObject ApplyUpdateLocked(ResourceInfo r, JsonObject old, JsonObject body, bool statusOnly)
    {
        JsonObject next;
        if (statusOnly)
        {
            next = old.Clone();
            next["status"] = body["status"]?.DeepClone();
        }
        else
        {
            next = body.Clone();
            if (r.HasStatus && r != ResourceInfo.Nodes)
            {
                next["status"] = old["status"]?.DeepClone();
            }

            Admit(r, next, old);
        }

        return StoreUpdateLocked(r, old, next, fromController: false);
    }

    /// <summary>Server-side apply, approximated: create when absent, else a merge patch (no field ownership or list merging).</summary>
    private (JsonObject Result, bool Created) Apply(ResourceInfo r, string? ns, string name, JsonObject body, bool statusOnly)
    {
        CheckBodyNamespace(body, ns);
        if (body.Str("metadata", "name") is { } bodyName && bodyName != name)
        {
            throw new KubeApiException(400, "BadRequest", $"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        lock (_gate)
        {
            if (Find(r, ns, name) is null && !statusOnly)
            {
                var obj = body.Clone();
                obj.Obj("metadata")["name"] = name;
                return (CreateLocked(r, ns ?? "", obj).Clone(), true);
            }

            return (Patch(r, ns, name, body, "application/merge-patch+json", statusOnly), false);
        }
    }

    private JsonObject Patch(ResourceInfo r, string? ns, string name, JsonNode? patch, string contentType, bool statusOnly)
    {
        lock (_gate)
        {
            var old = Find(r, ns, name) ?? throw KubeApiException.NotFound(r, name);
            JsonNode? patched = contentType switch
            {
                "application/merge-patch+json" or "application/strategic-merge-patch+json" => Patching.MergePatch(old, patch),
                "application/json-patch+json" => patch is JsonArray ops
                    ? Patching.JsonPatch(old, ops)
                    : throw KubeApiException.BadRequest("json patch must be an array of operations"),
                _ => throw new KubeApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {contentType})"),
            };
            if (patched is not JsonObject next)
            {
                throw KubeApiException.BadRequest("the patched object is not an object");
            }

            if (next.Str("metadata", "name") != name)
            {
                throw KubeApiException.Invalid(r, name, "metadata.name", "Invalid value: the name cannot be changed by a patch");
            }

            var expected = patch.Str("metadata", "resourceVersion");
            if (!string.IsNullOrEmpty(expected) && expected != old.Str("metadata", "resourceVersion"))
            {
                throw KubeApiException.Conflict(r, name);
            }

            return ApplyUpdateLocked(r, old, next, statusOnly).Clone();
        }
    }

    private (JsonObject Result, string? Warning) DeleteRequest(ResourceInfo r, string? ns, string name, JsonObject? options, IQueryCollection query)
    {
        var policy = options.Str("propagationPolicy") ?? (string?)query["propagationPolicy"];
        if (policy is null && (options.Str("orphanDependents") ?? (string?)query["orphanDependents"]) is { } orphan)
        {
            policy = orphan == "true" ? "Orphan" : "Background";
        }

        var graceText = options.Str("gracePeriodSeconds") ?? (string?)query["gracePeriodSeconds"];
        long? grace = long.TryParse(graceText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var g) ? g : null;
        string? warning = null;
        if (r == ResourceInfo.Jobs && policy is null)
        {
            warning = "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning";
        }

        var (obj, gone) = DeleteObject(r, ns ?? "", name, policy, grace);
        if (r.DeleteReturnsObject || !gone)
        {
            return (obj, warning);
        }

        var details = r.Details(name);
        details["uid"] = obj.Str("metadata", "uid");
        return (KubeApiException.StatusBody("Success", 200, null, null, details), warning);
    }

    private JsonObject DeleteCollection(ResourceInfo r, string? ns, JsonObject? options, IQueryCollection query)
    {
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"], r);
        List<(string Ns, string Name)> targets;
        lock (_gate)
        {
            targets = Items(r, ns).Where(o => labels.Matches(o) && fields.Matches(o))
                .Select(o => (o.Str("metadata", "namespace") ?? "", o.Str("metadata", "name")!)).ToList();
        }

        var items = new JsonArray();
        foreach (var (itemNs, itemName) in targets)
        {
            try
            {
                var (obj, _) = DeleteRequest(r, itemNs, itemName, options, query);
                if (obj.Str("kind") != "Status")
                {
                    obj.Remove("kind");
                    obj.Remove("apiVersion");
                    items.Add(obj);
                }
            }
            catch (KubeApiException e) when (e.Code == 404)
            {
                // Deleted concurrently.
            }
        }

        return new JsonObject
        {
            ["kind"] = r.ListKind,
            ["apiVersion"] = r.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = CurrentResourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["items"] = items,
        };
    }

    private JsonNode? Discovery(string[] s)
    {
        switch (s.Length)
        {
            case 1 when s[0] == "version":
                var v = Options.KubernetesVersion.TrimStart('v').Split('.');
                return new JsonObject
                {
                    ["major"] = v[0],
                    ["minor"] = v.Length > 1 ? v[1] : "0",
                    ["gitVersion"] = Options.KubernetesVersion,
                    ["gitCommit"] = "0000000000000000000000000000000000000000",
                    ["gitTreeState"] = "clean",
                    ["buildDate"] = "2025-01-01T00:00:00Z",
                    ["goVersion"] = "go1.24.0",
                    ["compiler"] = "gc",
                    ["platform"] = "linux/amd64",
                };
            case 1 when s[0] == "api":
                return new JsonObject
                {
                    ["kind"] = "APIVersions",
                    ["versions"] = new JsonArray("v1"),
                    ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject
                    {
                        ["clientCIDR"] = "0.0.0.0/0",
                        ["serverAddress"] = BaseAddress.Authority,
                    }),
                };
            case 1 when s[0] == "apis":
                var groups = new JsonArray();
                foreach (var g in ResourceInfo.All.Where(r => r.Group.Length > 0).Select(r => (r.Group, r.Version)).Distinct())
                {
                    var gv = new JsonObject { ["groupVersion"] = $"{g.Group}/{g.Version}", ["version"] = g.Version };
                    groups.Add(new JsonObject
                    {
                        ["name"] = g.Group,
                        ["versions"] = new JsonArray(gv),
                        ["preferredVersion"] = gv.DeepClone(),
                    });
                }

                return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
            case 2 when s[0] == "api":
                return ResourceList("", s[1]);
            case 3 when s[0] == "apis":
                return ResourceList(s[1], s[2]);
            case 2 when s[0] == "apis":
                var versions = ResourceInfo.All.Where(r => r.Group == s[1]).Select(r => r.Version).Distinct().ToList();
                if (versions.Count == 0)
                {
                    return null;
                }

                var list = new JsonArray(versions.Select(x => (JsonNode)new JsonObject { ["groupVersion"] = $"{s[1]}/{x}", ["version"] = x }).ToArray());
                return new JsonObject
                {
                    ["kind"] = "APIGroup",
                    ["apiVersion"] = "v1",
                    ["name"] = s[1],
                    ["versions"] = list,
                    ["preferredVersion"] = list[0]!.DeepClone(),
                };
            default:
                return null;
        }
    }

    private static JsonObject? ResourceList(string group, string version)
    {
        var resources = ResourceInfo.All.Where(r => r.Group == group && r.Version == version).ToList();
        if (resources.Count == 0)
        {
            return null;
        }

        var list = new JsonArray();
        foreach (var r in resources)
        {
            list.Add(new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
                ["shortNames"] = new JsonArray(r.ShortNames.Select(n => (JsonNode)n).ToArray()),
            });
            foreach (var sub in r.Subresources)
            {
                list.Add(new JsonObject
                {
                    ["name"] = $"{r.Plural}/{sub}",
                    ["singularName"] = "",
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = sub == "log" ? "Pod" : r.Kind,
                    ["verbs"] = sub == "log" ? new JsonArray("get") : new JsonArray("get", "patch", "update"),
                });
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = list,
        };
    }
}
