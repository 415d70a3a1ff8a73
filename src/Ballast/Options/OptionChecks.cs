namespace Ballast;

/// <summary>Range checks shared by the option classes, with messages that name the option and its range.</summary>
internal static class OptionChecks
{
    public static void Range<T>(T value, T min, T max, string name)
        where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"The option {name} must be between {min} and {max}; it is {value}.");
        }
    }
}
