namespace Dashboard.Runs.Contracts;

/// <summary>
/// The outcome of a request that may be refused: the value, field errors, or a status with a reason. The status numbers
/// are HTTP's, since the API answers with them as they are and the pages show the reason.
/// </summary>
public sealed record ServiceResult<T>(T? Value, IReadOnlyDictionary<string, string[]>? Errors = null, int Status = 200, string? Problem = null)
{
    public bool Succeeded => Errors is null && Problem is null;

    public static ServiceResult<T> Invalid(IReadOnlyDictionary<string, string[]> errors) => new(default, errors, 400);

    public static ServiceResult<T> NotFound(string problem) => new(default, null, 404, problem);

    public static ServiceResult<T> Conflict(string problem) => new(default, null, 409, problem);
}

/// <summary>The statuses the core's refusals use beyond those with a factory on <see cref="ServiceResult{T}"/>.</summary>
public static class ServiceStatus
{
    public const int ServiceUnavailable = 503;
    public const int InsufficientStorage = 507;
}
