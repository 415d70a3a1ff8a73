using Microsoft.Extensions.Options;

namespace Ballast.Extensions;

/// <summary>Runs <see cref="MemcachedClientOptions.Validate"/> for one named client, naming the failing setting under its configuration path.</summary>
internal sealed class MemcachedClientOptionsValidator(string optionsName, string settingsPath) : IValidateOptions<MemcachedClientOptions>
{
    public ValidateOptionsResult Validate(string? name, MemcachedClientOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, optionsName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException error)
        {
            return ValidateOptionsResult.Fail($"Setting '{settingsPath}:{error.ParamName}': {error.Message}");
        }
    }
}
